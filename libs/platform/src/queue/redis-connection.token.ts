/** Nest token of the process's shared ioredis connection (BullMQ commands, readiness PING). */
export const REDIS_CONNECTION = Symbol('RedisConnection');
