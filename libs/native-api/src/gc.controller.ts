import { Body, Controller, HttpCode, Inject, Post, UseFilters, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiForbiddenResponse,
  ApiInternalServerErrorResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { JobName } from '@cargohold/queue-contracts';
import type { PruneResult, SweepResult } from '@cargohold/queue-contracts';
import { GcJobsService } from './gc-jobs.service';
import { NativeApiAuthGuard, NativeApiTask } from './native-api-auth.guard';
import { NativeApiErrorFilter } from './native-api-error.filter';
import { PruneOptionsDto, PruneResultDto, SweepOptionsDto, SweepResultDto } from './prune-schedule.dto';
import { pruneBodySchema, sweepBodySchema } from './prune-schedule.schema';
import { parseOptionalBody } from './request-body.util';
import { ErrorDto } from './token.dto';

/** `/api/v1/gc`: run a prune or a sweep on the gc service now and wait for its result (admin on `**` only). */
@ApiTags('gc')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No bearer token, or not a valid one', type: ErrorDto })
@ApiForbiddenResponse({ description: 'The token may not run the gc (needs admin on `**`)', type: ErrorDto })
@ApiBadRequestResponse({ description: 'The body names the problem field by field', type: ErrorDto })
@ApiInternalServerErrorResponse({ description: 'The job failed; the message is its own', type: ErrorDto })
@Controller('api/v1/gc')
@NativeApiTask('run the gc')
@UseGuards(NativeApiAuthGuard)
@UseFilters(NativeApiErrorFilter)
export class GcController {
  constructor(@Inject(GcJobsService) private readonly jobs: GcJobsService) {}

  @Post('prune')
  @HttpCode(200)
  @ApiOperation({ summary: 'Prune images or build cache now', description: 'As `docker image prune` / `docker builder prune`; the body may be omitted (dangling images).' })
  @ApiBody({ type: PruneOptionsDto, required: false })
  @ApiOkResponse({ type: PruneResultDto })
  prune(@Body() body: unknown): Promise<PruneResult> {
    return this.jobs.run({ name: JobName.Prune, data: parseOptionalBody(pruneBodySchema, body) });
  }

  @Post('sweep')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sweep unreferenced blobs now', description: 'Online mark and sweep of the blob store; the body may be omitted.' })
  @ApiBody({ type: SweepOptionsDto, required: false })
  @ApiOkResponse({ type: SweepResultDto })
  sweep(@Body() body: unknown): Promise<SweepResult> {
    return this.jobs.run({ name: JobName.Sweep, data: parseOptionalBody(sweepBodySchema, body) });
  }
}
