import { Injectable, SetMetadata } from '@nestjs/common';
import type { CanActivate, CustomDecorator, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AccessPolicy } from '@cargohold/auth';

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
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const task = this.reflector.getAllAndOverride<string | undefined>(TASK_KEY, [context.getHandler(), context.getClass()]) ?? 'manage API tokens';
    await this.policy.requireAdministrator(request.headers.authorization, task);
    return true;
  }
}
