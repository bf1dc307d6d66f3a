import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { z } from 'zod';
import { ACTIONS, validateRepositoryPattern } from '@cargohold/auth';
import type { Action } from '@cargohold/auth';

/** Longest token lifetime the API accepts: ten years. */
export const MAX_EXPIRES_IN_DAYS = 3650;
/** Bounds the stored scope list (and the work of matching it on every request). */
export const MAX_SCOPES = 100;

const repositoryPattern = z.string().superRefine((value, ctx) => {
  try {
    validateRepositoryPattern(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** The body of `POST /api/v1/tokens`: what is validated (the classes below document it). */
export const createTokenSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  scopes: z
    .array(
      z.strictObject({
        repository: repositoryPattern,
        actions: z.array(z.enum(ACTIONS as [Action, ...Action[]])).min(1, `must name at least one of ${ACTIONS.join(', ')}`),
      }),
    )
    .min(1, 'must hold at least one scope')
    .max(MAX_SCOPES, `must hold at most ${MAX_SCOPES} scopes`),
  expiresInDays: z.number().int().min(1).max(MAX_EXPIRES_IN_DAYS).optional(),
});

export type CreateTokenBody = z.infer<typeof createTokenSchema>;

export class ScopeGrantDto {
  @ApiProperty({
    description: 'Repository pattern, matched against names as docker shows them: exact (`app`, `team/app`, `127.0.0.1:5000/x`), `*` = any characters except `/`, `**` = anything',
    example: 'team/*',
  })
  repository!: string;

  @ApiProperty({ enum: [...ACTIONS], isArray: true, description: '`admin` implies every action on the matching repositories', example: ['pull', 'push'] })
  actions!: Action[];
}

export class CreateTokenDto {
  @ApiProperty({ minLength: 1, maxLength: 128, example: 'ci-push' })
  name!: string;

  @ApiProperty({ type: [ScopeGrantDto], minItems: 1, maxItems: MAX_SCOPES })
  scopes!: ScopeGrantDto[];

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_EXPIRES_IN_DAYS, description: 'Unset: the token never expires', example: 90 })
  expiresInDays?: number;
}

export class ApiTokenDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ type: [ScopeGrantDto] })
  scopes!: ScopeGrantDto[];

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  expiresAt!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  revokedAt!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Updated at most once a minute' })
  lastUsedAt!: string | null;
}

export class CreatedApiTokenDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ description: 'The secret: shown in this response only, never again', example: 'chk_…' })
  token!: string;

  @ApiProperty({ type: [ScopeGrantDto] })
  scopes!: ScopeGrantDto[];

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  expiresAt!: string | null;
}

export class ApiTokenListDto {
  @ApiProperty({ type: [ApiTokenDto] })
  tokens!: ApiTokenDto[];
}

export class ErrorDto {
  @ApiProperty({ example: 'authentication required: send Authorization: Bearer <API token>' })
  message!: string;
}
