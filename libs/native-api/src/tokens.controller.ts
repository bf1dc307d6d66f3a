import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseFilters, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ApiTokenService } from '@cargohold/auth';
import type { ApiTokenInfo, CreatedApiToken } from '@cargohold/auth';
import { NativeApiAuthGuard } from './native-api-auth.guard';
import { NativeApiErrorFilter } from './native-api-error.filter';
import { parseBody } from './request-body.util';
import { ApiTokenDto, ApiTokenListDto, CreatedApiTokenDto, CreateTokenDto, createTokenSchema, ErrorDto } from './token.dto';

const DAY_SECONDS = 86_400;

/** `/api/v1/tokens`: create, list, show and revoke API tokens (admin on `**` only). */
@ApiTags('tokens')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No bearer token, or not a valid one', type: ErrorDto })
@ApiForbiddenResponse({ description: 'The token may not manage tokens (needs admin on `**`)', type: ErrorDto })
@Controller('api/v1/tokens')
@UseGuards(NativeApiAuthGuard)
@UseFilters(NativeApiErrorFilter)
export class TokensController {
  constructor(private readonly tokens: ApiTokenService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create an API token', description: 'The secret is in this response only; store it now.' })
  @ApiBody({ type: CreateTokenDto })
  @ApiCreatedResponse({ type: CreatedApiTokenDto })
  @ApiBadRequestResponse({ description: 'The body names the problem field by field', type: ErrorDto })
  create(@Body() body: unknown): Promise<CreatedApiToken> {
    const input = parseBody(createTokenSchema, body);
    return this.tokens.create({
      name: input.name,
      scopes: input.scopes,
      expiresInSeconds: input.expiresInDays === undefined ? undefined : input.expiresInDays * DAY_SECONDS,
    });
  }

  @Get()
  @ApiOperation({ summary: 'List API tokens (revoked and expired ones too; never their secrets)' })
  @ApiOkResponse({ type: ApiTokenListDto })
  async list(): Promise<{ tokens: ApiTokenInfo[] }> {
    return { tokens: await this.tokens.list() };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Show one API token' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: ApiTokenDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id') id: string): Promise<ApiTokenInfo> {
    return this.tokens.get(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API token', description: 'It stops authenticating at once; registry tokens issued for it stop verifying too.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Revoked (revoking twice is not an error)' })
  @ApiNotFoundResponse({ type: ErrorDto })
  async revoke(@Param('id') id: string): Promise<void> {
    await this.tokens.revoke(id);
  }
}
