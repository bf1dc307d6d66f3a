import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Body, Controller, Get, Module, Post, Req } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearRedisPrefix, testRedisUrl, uniquePrefix } from '@cargohold/testing';
import { BlobStoreModule } from '../blob-store/blob-store.module';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { HealthModule } from '../health/health.module';
import { LoggingModule } from '../logging/logging.module';
import { QueueModule } from '../queue/queue.module';
import { createHttpApp } from './create-http-app';

@Controller('probe')
class ProbeController {
  @Get('path')
  path(@Req() req: FastifyRequest): { url: string } {
    return { url: req.url };
  }

  @Post('upload')
  async upload(@Req() req: FastifyRequest): Promise<{ streamed: boolean; bytes: number; peakHeapGrowthMb: number }> {
    const body = req.body;
    if (!(body instanceof Readable)) return { streamed: false, bytes: -1, peakHeapGrowthMb: -1 };
    const heapBefore = process.memoryUsage().heapUsed;
    let peak = heapBefore;
    let bytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    return { streamed: true, bytes, peakHeapGrowthMb: Math.round((peak - heapBefore) / 1024 ** 2) };
  }

  @Post('json')
  json(@Body() body: unknown): { received: unknown } {
    return { received: body };
  }
}

@Module({
  imports: [
    ConfigModule,
    LoggingModule.forRoot({ app: 'gateway-test', requestLogging: true }),
    DatabaseModule,
    BlobStoreModule,
    QueueModule.forRoot(),
    HealthModule,
  ],
  controllers: [ProbeController],
})
class GatewayTestModule {}

const prefix = uniquePrefix('platform-http-it');
const savedEnv = { ...process.env };
let dataDir: string;
let app: NestFastifyApplication;
let base: string;

interface Answer {
  status: number;
  json: unknown;
}

function call(method: string, url: string, body?: Readable | string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${url}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

/** `total` bytes in 1 MiB chunks, generated on demand: the client holds no more than one chunk. */
function generated(total: number): Readable {
  const chunk = Buffer.alloc(1024 ** 2, 0x61);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const size = Math.min(left, chunk.length);
      left -= size;
      this.push(chunk.subarray(0, size));
    },
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cargohold-http-it-'));
  Object.assign(process.env, {
    CARGOHOLD_DATA_DIR: dataDir,
    CARGOHOLD_QUEUE_PREFIX: prefix,
    CARGOHOLD_LOG_LEVEL: 'silent',
    CARGOHOLD_HOST: '127.0.0.1',
    CARGOHOLD_PORT: '0',
    REDIS_URL: testRedisUrl(),
  });
  app = await createHttpApp(GatewayTestModule, 'gateway-test');
  base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
});

afterAll(async () => {
  await app?.close();
  process.env = savedEnv;
  await clearRedisPrefix(testRedisUrl(), prefix);
  await rm(dataDir, { recursive: true, force: true });
});

describe('createHttpApp', () => {
  it('answers liveness', async () => {
    expect(await call('GET', '/healthz')).toEqual({ status: 200, json: { status: 'ok' } });
  });

  it('answers readiness with each dependency up and its latency', async () => {
    const { status, json } = await call('GET', '/readyz');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      status: 'ok',
      checks: {
        redis: { status: 'up', latencyMs: expect.any(Number) },
        database: { status: 'up', latencyMs: expect.any(Number) },
        blobStore: { status: 'up', latencyMs: expect.any(Number) },
      },
    });
  });

  it('routes versioned and unversioned Docker API paths to the same handler', async () => {
    expect(await call('GET', '/v1.47/probe/path?x=1')).toEqual({ status: 200, json: { url: '/probe/path?x=1' } });
    expect(await call('GET', '/v1.24/probe/path')).toEqual({ status: 200, json: { url: '/probe/path' } });
    expect(await call('GET', '/probe/path')).toEqual({ status: 200, json: { url: '/probe/path' } });
  });

  it('does not strip /v2/, the OCI Distribution API prefix', async () => {
    expect((await call('GET', '/v2/probe/path')).status).toBe(404);
  });

  it('hands tar bodies to the route as an unread stream, whatever their size', async () => {
    const size = 96 * 1024 ** 2;
    const { status, json } = await call('POST', '/v1.47/probe/upload', generated(size), { 'content-type': 'application/x-tar' });
    expect(status).toBe(201);
    expect(json).toMatchObject({ streamed: true, bytes: size });
    // Buffering would need the whole 96 MiB on the heap at once.
    expect((json as { peakHeapGrowthMb: number }).peakHeapGrowthMb).toBeLessThan(48);
  });

  it('streams octet-stream bodies and bodies without a content type too', async () => {
    const octet = await call('POST', '/probe/upload', generated(3 * 1024 ** 2 + 7), { 'content-type': 'application/octet-stream' });
    expect(octet.json).toMatchObject({ streamed: true, bytes: 3 * 1024 ** 2 + 7 });
    const untyped = await call('POST', '/probe/upload', generated(1024), { 'transfer-encoding': 'chunked' });
    expect(untyped.json).toMatchObject({ streamed: true, bytes: 1024 });
  });

  it('still parses JSON bodies', async () => {
    const { status, json } = await call('POST', '/probe/json', JSON.stringify({ tag: 'v1', n: 2 }), { 'content-type': 'application/json' });
    expect(status).toBe(201);
    expect(json).toEqual({ received: { tag: 'v1', n: 2 } });
  });
});
