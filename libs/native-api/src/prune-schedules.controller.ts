import { BadRequestException, Body, ConflictException, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, UseFilters, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiInternalServerErrorResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { PruneSchedulers, PruneSchedulesRepository } from '@cargohold/platform';
import type { PruneRun, PruneSchedule } from '@cargohold/platform';
import { JobName } from '@cargohold/queue-contracts';
import type { ScheduledPruneResult } from '@cargohold/queue-contracts';
import { GcJobsService } from './gc-jobs.service';
import { NativeApiAuthGuard, NativeApiTask } from './native-api-auth.guard';
import { NativeApiErrorFilter } from './native-api-error.filter';
import { parseBody, parseValue } from './request-body.util';
import { ErrorDto } from './token.dto';
import {
  CreatePruneScheduleDto,
  PatchPruneScheduleDto,
  PruneRunListDto,
  PruneScheduleDto,
  PruneScheduleListDto,
  ScheduledPruneResultDto,
} from './prune-schedule.dto';
import { changesOfPatch, createScheduleSchema, patchScheduleSchema, runsQuerySchema, settingsOfCreate } from './prune-schedule.schema';

/** A schedule as the API shows it: times as RFC 3339, with when its job scheduler fires next. */
export type PruneScheduleView = Omit<PruneSchedule, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string; nextRunAt: string | null };
export type PruneRunView = Omit<PruneRun, 'startedAt' | 'finishedAt'> & { startedAt: string; finishedAt: string | null };

/**
 * `/api/v1/prune-schedules`: scheduled prunes (admin on `**` only). The database holds the
 * schedules; every change is applied to the gc queue's job scheduler at once (and the gc
 * rebuilds all of them at boot).
 */
@ApiTags('prune schedules')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No bearer token, or not a valid one', type: ErrorDto })
@ApiForbiddenResponse({ description: 'The token may not manage prune schedules (needs admin on `**`)', type: ErrorDto })
@Controller('api/v1/prune-schedules')
@NativeApiTask('manage prune schedules')
@UseGuards(NativeApiAuthGuard)
@UseFilters(NativeApiErrorFilter)
export class PruneSchedulesController {
  constructor(
    @Inject(PruneSchedulesRepository) private readonly schedules: PruneSchedulesRepository,
    @Inject(PruneSchedulers) private readonly schedulers: PruneSchedulers,
    @Inject(GcJobsService) private readonly jobs: GcJobsService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a prune schedule', description: 'Exactly one of `cron` and `everySeconds`. An enabled schedule is scheduled at once.' })
  @ApiBody({ type: CreatePruneScheduleDto })
  @ApiCreatedResponse({ type: PruneScheduleDto })
  @ApiBadRequestResponse({ description: 'The body names the problem field by field', type: ErrorDto })
  @ApiConflictResponse({ description: 'The name is taken', type: ErrorDto })
  async create(@Body() body: unknown): Promise<PruneScheduleView> {
    const settings = settingsOfCreate(parseBody(createScheduleSchema, body));
    if (typeof settings === 'string') throw new BadRequestException(`invalid request body: ${settings}`);
    const schedule = await this.schedules.create(settings);
    await this.applyOrUndo(schedule, () => this.schedules.delete(schedule.id));
    return this.view(schedule);
  }

  @Get()
  @ApiOperation({ summary: 'List prune schedules, by name' })
  @ApiOkResponse({ type: PruneScheduleListDto })
  async list(): Promise<{ schedules: PruneScheduleView[] }> {
    const schedules = await this.schedules.list();
    return { schedules: await Promise.all(schedules.map((schedule) => this.view(schedule))) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Show one prune schedule' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: PruneScheduleDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  async get(@Param('id') id: string): Promise<PruneScheduleView> {
    return this.view(await this.schedules.get(id));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a prune schedule', description: 'Any field; the job scheduler is updated, or removed when `enabled` becomes false.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiBody({ type: PatchPruneScheduleDto })
  @ApiOkResponse({ type: PruneScheduleDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ description: 'The new name is taken', type: ErrorDto })
  async update(@Param('id') id: string, @Body() body: unknown): Promise<PruneScheduleView> {
    const patch = parseBody(patchScheduleSchema, body);
    const current = await this.schedules.get(id);
    const changes = changesOfPatch(current, patch);
    if (typeof changes === 'string') throw new BadRequestException(`invalid request body: ${changes}`);
    const schedule = await this.schedules.update(id, changes);
    await this.schedulers.apply(schedule);
    return this.view(schedule);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a prune schedule', description: 'Its job scheduler and its runs go too; a run in progress finishes.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorDto })
  async remove(@Param('id') id: string): Promise<void> {
    await this.schedules.delete(id);
    await this.schedulers.remove(id);
  }

  @Get(':id/runs')
  @ApiOperation({ summary: 'The runs of a prune schedule, newest first, with their reports' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } })
  @ApiOkResponse({ type: PruneRunListDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  async runs(@Param('id') id: string, @Query() query: unknown): Promise<{ runs: PruneRunView[] }> {
    const { limit } = parseValue(runsQuerySchema, query, 'invalid query');
    const runs = await this.schedules.runs(id, limit);
    return { runs: runs.map(runView) };
  }

  @Post(':id/run')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run a prune schedule now and wait for its report',
    description: 'The gc runs it as it would on schedule and records the run; the schedule keeps its next firing.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: ScheduledPruneResultDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ description: 'The schedule is disabled', type: ErrorDto })
  @ApiInternalServerErrorResponse({ description: 'The run failed (it is recorded as failed, with this message)', type: ErrorDto })
  async runNow(@Param('id') id: string): Promise<ScheduledPruneResult> {
    const schedule = await this.schedules.get(id);
    if (!schedule.enabled) throw new ConflictException(`prune schedule "${schedule.name}" is disabled: enable it to run it`);
    return this.jobs.run({ name: JobName.ScheduledPrune, data: { scheduleId: id } });
  }

  /** A schedule that cannot be scheduled (Redis down) is not kept: the client sees the error and may retry. */
  private async applyOrUndo(schedule: PruneSchedule, undo: () => Promise<void>): Promise<void> {
    try {
      await this.schedulers.apply(schedule);
    } catch (error) {
      await undo().catch(() => undefined);
      throw error;
    }
  }

  private async view(schedule: PruneSchedule): Promise<PruneScheduleView> {
    const next = schedule.enabled ? await this.schedulers.nextRunAt(schedule.id) : null;
    return {
      ...schedule,
      createdAt: new Date(schedule.createdAt).toISOString(),
      updatedAt: new Date(schedule.updatedAt).toISOString(),
      nextRunAt: next === null ? null : new Date(next).toISOString(),
    };
  }
}

function runView(run: PruneRun): PruneRunView {
  return {
    ...run,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
  };
}
