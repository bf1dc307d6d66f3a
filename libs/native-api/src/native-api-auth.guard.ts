import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccessPolicy, parseAuthorization } from '@cargohold/auth';

/**
 * The native API manages the service itself: with authentication on, every route takes
 * `Authorization: Bearer <API token or admin token>` holding `admin` on `**`.
 */
@Injectable()
export class NativeApiAuthGuard implements CanActivate {
  constructor(private readonly policy: AccessPolicy) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.policy.enabled) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = parseAuthorization(request.headers.authorization);
    if (auth?.scheme !== 'bearer') throw new UnauthorizedException('authentication required: send Authorization: Bearer <API token>');
    const principal = await this.policy.authenticate(auth.token);
    if (!principal) throw new UnauthorizedException('the bearer token is not valid: unknown, expired or revoked');
    if (!this.policy.canAdminister(principal)) {
      throw new ForbiddenException(`the token "${principal.name}" may not manage API tokens: that takes the admin action on "**"`);
    }
    return true;
  }
}
