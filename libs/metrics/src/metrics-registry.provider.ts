import type { Provider } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The gateway's own registry (token: prom-client's Registry class), never prom-client's global
 * one: two applications in one process (tests) keep separate metrics. It starts with
 * prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`).
 */
export const metricsRegistryProvider: Provider = {
  provide: Registry,
  useFactory: (): Registry => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  },
};
