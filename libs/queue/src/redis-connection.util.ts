import { Redis } from 'ioredis';

/** Where cargohold looks for Redis when REDIS_URL is not set (the embedded default). */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * One ioredis connection in the shape BullMQ needs: `maxRetriesPerRequest: null` so commands
 * wait out a Redis restart instead of failing mid-job (BullMQ refuses shared connections without
 * it, because it duplicates them for its blocking reads). The caller owns it and must `quit()` it.
 */
export function createRedisConnection(url: string = DEFAULT_REDIS_URL, connectionName = 'cargohold'): Redis {
  if (!/^rediss?:\/\//.test(url)) throw new Error(`invalid Redis URL "${url}": expected redis://host:port or rediss://host:port`);
  return new Redis(url, { maxRetriesPerRequest: null, connectionName });
}
