import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessPolicy, parseAuthorization } from '@cargohold/auth';

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
    if (!this.policy.enabled) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = parseAuthorization(request.headers.authorization);
    if (auth?.scheme !== 'bearer') throw new UnauthorizedException('authentication required: send Authorization: Bearer <API token>');
    const principal = await this.policy.authenticate(auth.token);
    if (!principal) throw new UnauthorizedException('the bearer token is not valid: unknown, expired or revoked');
    if (!this.policy.canAdminister(principal)) {
      throw new ForbiddenException(`the token "${principal.name}" may not read metrics: that takes the admin action on "**"`);
    }
    return true;
  }
}
