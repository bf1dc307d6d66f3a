import { ConfigError } from '@cargohold/config';
import { describe, expect, it } from 'vitest';

import { clientHost, hostPort, instanceName, readReplicaCounts, readyBanner } from './supervisor-plan.util';

describe('readReplicaCounts', () => {
  it('defaults every worker kind to one replica', () => {
    expect(readReplicaCounts({})).toEqual({ builder: 1, puller: 1, gc: 1 });
  });

  it('reads each CARGOHOLD_REPLICAS_* variable, zero included', () => {
    expect(readReplicaCounts({ CARGOHOLD_REPLICAS_BUILDER: '3', CARGOHOLD_REPLICAS_PULLER: ' 2 ', CARGOHOLD_REPLICAS_GC: '0' })).toEqual({
      builder: 3,
      puller: 2,
      gc: 0,
    });
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      readReplicaCounts({ CARGOHOLD_REPLICAS_BUILDER: 'two', CARGOHOLD_REPLICAS_GC: '-1', CARGOHOLD_REPLICAS_PULLER: '65' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^CARGOHOLD_REPLICAS_BUILDER: .*"two"/);
    expect(problems[1]).toMatch(/^CARGOHOLD_REPLICAS_PULLER: .*"65"/);
    expect(problems[2]).toMatch(/^CARGOHOLD_REPLICAS_GC: .*"-1"/);
  });
});

describe('readyBanner', () => {
  it('prints the URL and the DOCKER_HOST export for the bound address', () => {
    expect(readyBanner('127.0.0.1', 2375)).toEqual(['cargohold is up: http://127.0.0.1:2375', 'export DOCKER_HOST=tcp://127.0.0.1:2375']);
  });

  it('turns a wildcard bind into an address a local client can reach', () => {
    expect(readyBanner('0.0.0.0', 8080)[1]).toBe('export DOCKER_HOST=tcp://127.0.0.1:8080');
    expect(readyBanner('::', 8080)[0]).toBe('cargohold is up: http://[::1]:8080');
  });
});

describe('hostPort / clientHost', () => {
  it('brackets IPv6 literals once', () => {
    expect(hostPort('::1', 1)).toBe('[::1]:1');
    expect(hostPort('[fe80::1]', 2)).toBe('[fe80::1]:2');
    expect(hostPort('localhost', 3)).toBe('localhost:3');
  });

  it('keeps specific addresses as they are', () => {
    expect(clientHost('10.0.0.5')).toBe('10.0.0.5');
  });
});

describe('instanceName', () => {
  it('numbers replicas only when there are several', () => {
    expect(instanceName('gc', 0, 1)).toBe('gc');
    expect(instanceName('builder', 1, 2)).toBe('builder#2');
  });
});
