import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { apiOf, methodLabel, routeLabel, statusLabel } from './http-labels.util';

type RequestLabels = 'api' | 'method' | 'route' | 'status';

/**
 * From a millisecond `_ping` to a build or a multi-gigabyte pull streaming for minutes: the
 * buckets span both, so quantiles stay meaningful at each end.
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * Counts every HTTP request the gateway routes and times it until its response is over.
 *
 * Measured on Fastify's raw response 'close', not in a Nest interceptor: the streaming answers
 * (`docker load`, `pull`, `push`, `build`, `save`, registry blobs) hijack the reply and write to
 * the socket long after the handler returned, 404s never reach Nest, and guards reject before
 * interceptors run. 'close' comes once per response, after the last byte (`finish`) or when the
 * connection drops first, so every request is counted exactly once.
 */
@Injectable()
export class HttpMetricsService implements OnModuleInit {
  private readonly requests: Counter<RequestLabels>;
  private readonly durations: Histogram<Exclude<RequestLabels, 'status'>>;

  constructor(
    @Inject(Registry) registry: Registry,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {
    this.requests = new Counter({
      name: 'cargohold_http_requests_total',
      help: 'HTTP requests the gateway answered, by API (docker, registry, native, other), method, route pattern and status (499: the connection closed before the response finished).',
      labelNames: ['api', 'method', 'route', 'status'],
      registers: [registry],
    });
    this.durations = new Histogram({
      name: 'cargohold_http_request_duration_seconds',
      help: 'Time from routing a request to the end of its response (the last byte of a stream, or the connection closing), by API, method and route pattern.',
      labelNames: ['api', 'method', 'route'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (typeof fastify?.addHook !== 'function') throw new Error('MetricsModule needs the gateway on the Fastify adapter');
    // Route contexts take their hooks when Fastify becomes ready (at listen), so this covers every route.
    fastify.addHook('onRequest', (request, reply, done) => {
      this.track(request, reply);
      done();
    });
  }

  private track(request: FastifyRequest, reply: FastifyReply): void {
    const started = process.hrtime.bigint();
    reply.raw.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const pattern = request.routeOptions.url;
      const wildcard = (request.params as Record<string, string | undefined> | undefined)?.['*'];
      const labels = {
        api: apiOf(pattern ?? request.url),
        method: methodLabel(request.method),
        route: routeLabel(pattern, request.method, wildcard),
      };
      const status = statusLabel({ statusCode: reply.raw.statusCode, finished: reply.raw.writableFinished, upgrade: request.headers.upgrade !== undefined });
      this.requests.inc({ ...labels, status });
      this.durations.observe(labels, seconds);
    });
  }
}
