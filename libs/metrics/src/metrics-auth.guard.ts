import { Inject, Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessPolicy } from '@cargohold/auth';

/**
 * `/metrics` shows the whole installation (image and job counts, traffic by route), so with
 * authentication on it takes what the native API takes: `Authorization: Bearer <API token or
 * admin token>` holding `admin` on `**` (Prometheus: `authorization.credentials`). With
 * authentication off it is open, like every other route.
 */
@Injectable()
export class MetricsAuthGuard implements CanActivate {
  constructor(@Inject(AccessPolicy) private readonly policy: AccessPolicy) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    await this.policy.requireAdministrator(context.switchToHttp().getRequest<FastifyRequest>().headers.authorization, 'read metrics');
    return true;
  }
}
