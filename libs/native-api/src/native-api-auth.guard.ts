import { ForbiddenException, Injectable, SetMetadata, UnauthorizedException } from '@nestjs/common';
import type { CanActivate, CustomDecorator, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AccessPolicy, parseAuthorization } from '@cargohold/auth';

const TASK_KEY = 'cargohold:native-api-task';

/** What a controller's routes do, as a 403 names it (`manage API tokens` unless set). */
export const NativeApiTask = (task: string): CustomDecorator<string> => SetMetadata(TASK_KEY, task);

/**
 * The native API manages the service itself: with authentication on, every route takes
 * `Authorization: Bearer <API token or admin token>` holding `admin` on `**`.
 */
@Injectable()
export class NativeApiAuthGuard implements CanActivate {
  constructor(
    private readonly policy: AccessPolicy,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.policy.enabled) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = parseAuthorization(request.headers.authorization);
    if (auth?.scheme !== 'bearer') throw new UnauthorizedException('authentication required: send Authorization: Bearer <API token>');
    const principal = await this.policy.authenticate(auth.token);
    if (!principal) throw new UnauthorizedException('the bearer token is not valid: unknown, expired or revoked');
    if (!this.policy.canAdminister(principal)) {
      const task = this.reflector.getAllAndOverride<string | undefined>(TASK_KEY, [context.getHandler(), context.getClass()]) ?? 'manage API tokens';
      throw new ForbiddenException(`the token "${principal.name}" may not ${task}: that takes the admin action on "**"`);
    }
    return true;
  }
}
