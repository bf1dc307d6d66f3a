import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_EVERY_SECONDS, MAX_GRACE_SECONDS, MIN_PERIOD_SECONDS } from './prune-schedule.schema';

/** OpenAPI shapes of the prune schedule and gc routes (what is validated lives in prune-schedule.schema.ts). */

export class PruneScheduleOptionsDto {
  @ApiPropertyOptional({ enum: ['images', 'build-cache'], default: 'images', description: '`images`: image references and rows; `build-cache`: build cache entries' })
  target?: 'images' | 'build-cache';

  @ApiPropertyOptional({ default: true, description: 'Images: only dangling ones; false: every image no tag, digest reference or container uses' })
  danglingOnly?: boolean;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only what was created (build cache: last used) before this instant' })
  until?: string;

  @ApiPropertyOptional({ type: [String], default: [], description: '`k` or `k=v`: only images carrying these labels', example: ['stage=ci'] })
  labels?: string[];

  @ApiPropertyOptional({ type: [String], default: [], description: '`k` or `k=v`: only images not carrying these labels', example: ['keep'] })
  labelsNot?: string[];

  @ApiPropertyOptional({ minimum: 0, description: 'Keep the newest N tags of every repository (by when the tag was set)' })
  keepNewestTags?: number;
}

export class PruneOptionsDto extends PruneScheduleOptionsDto {
  @ApiPropertyOptional({ default: false, description: 'Report what would go, change nothing' })
  dryRun?: boolean;
}

export class SweepOptionsDto {
  @ApiPropertyOptional({ minimum: 0, default: 3600, description: 'Blobs written or referenced more recently than this are kept' })
  graceSeconds?: number;

  @ApiPropertyOptional({ default: false, description: 'Report what would go, change nothing' })
  dryRun?: boolean;
}

export class ImageDeletedDto {
  @ApiPropertyOptional({ example: 'app:old' })
  Untagged?: string;

  @ApiPropertyOptional({ example: 'sha256:…' })
  Deleted?: string;
}

export class PruneResultDto {
  @ApiProperty({ type: [ImageDeletedDto], description: "dockerd's ImagesDeleted, in the order it happened" })
  ImagesDeleted!: ImageDeletedDto[];

  @ApiProperty({ type: [String], description: 'Build cache keys removed' })
  CachesDeleted!: string[];

  @ApiProperty({ description: 'Bytes of image content no longer referenced (a sweep frees them)' })
  SpaceReclaimed!: number;

  @ApiProperty()
  dryRun!: boolean;
}

export class SweepResultDto {
  @ApiProperty()
  dryRun!: boolean;

  @ApiProperty({ description: 'Blobs in the store when the sweep began' })
  blobsScanned!: number;

  @ApiProperty({ description: 'Blobs referenced, too young, or leased: kept' })
  blobsKept!: number;

  @ApiProperty({ description: 'Deleted (dry run: would be)' })
  blobsDeleted!: number;

  @ApiProperty()
  bytesFreed!: number;

  @ApiProperty({ description: 'Manifest rows nothing names any more' })
  manifestsDeleted!: number;

  @ApiProperty()
  durationMs!: number;
}

export class ScheduledPruneResultDto {
  @ApiProperty({ format: 'uuid' })
  scheduleId!: string;

  @ApiProperty({ type: PruneResultDto })
  prune!: PruneResultDto;

  @ApiPropertyOptional({ type: SweepResultDto, description: 'Present when the schedule sweeps' })
  sweep?: SweepResultDto;
}

export class CreatePruneScheduleDto {
  @ApiProperty({ minLength: 1, maxLength: 128, example: 'nightly-dangling' })
  name!: string;

  @ApiPropertyOptional({ description: 'Cron pattern as BullMQ reads it (5 fields, or 6 with seconds); at most once a minute. Exactly one of cron and everySeconds.', example: '0 3 * * *' })
  cron?: string;

  @ApiPropertyOptional({ minimum: MIN_PERIOD_SECONDS, maximum: MAX_EVERY_SECONDS, description: 'Fixed period; the first run is one period after the schedule is created or enabled', example: 3600 })
  everySeconds?: number;

  @ApiPropertyOptional({ maxLength: 64, description: 'IANA zone the cron pattern is read in (cron only); default UTC', example: 'Europe/Berlin' })
  timezone?: string;

  @ApiPropertyOptional({ type: PruneScheduleOptionsDto, description: 'What to prune; default: dangling images' })
  options?: PruneScheduleOptionsDto;

  @ApiPropertyOptional({ default: true, description: 'Sweep unreferenced blobs after the prune' })
  sweep?: boolean;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_GRACE_SECONDS, default: 3600, description: "The sweep's grace window" })
  sweepGraceSeconds?: number;

  @ApiPropertyOptional({ default: false, description: 'Runs only report what they would remove' })
  dryRun?: boolean;

  @ApiPropertyOptional({ default: true, description: 'Disabled schedules keep their settings and runs, and never fire' })
  enabled?: boolean;
}

export class PatchPruneScheduleDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 128 })
  name?: string;

  @ApiPropertyOptional({ nullable: true, type: String, description: 'Setting cron clears everySeconds' })
  cron?: string | null;

  @ApiPropertyOptional({ nullable: true, type: Number, minimum: MIN_PERIOD_SECONDS, maximum: MAX_EVERY_SECONDS, description: 'Setting everySeconds clears cron and timezone' })
  everySeconds?: number | null;

  @ApiPropertyOptional({ nullable: true, type: String, maxLength: 64 })
  timezone?: string | null;

  @ApiPropertyOptional({ type: PruneScheduleOptionsDto, description: 'Replaces the options as a whole' })
  options?: PruneScheduleOptionsDto;

  @ApiPropertyOptional()
  sweep?: boolean;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_GRACE_SECONDS })
  sweepGraceSeconds?: number;

  @ApiPropertyOptional()
  dryRun?: boolean;

  @ApiPropertyOptional({ description: 'false removes the job scheduler; true creates it again' })
  enabled?: boolean;
}

export class PruneScheduleDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ nullable: true, type: String })
  cron!: string | null;

  @ApiProperty({ nullable: true, type: Number })
  everySeconds!: number | null;

  @ApiProperty({ nullable: true, type: String, description: 'null: UTC' })
  timezone!: string | null;

  @ApiProperty({ type: PruneScheduleOptionsDto })
  options!: PruneScheduleOptionsDto;

  @ApiProperty()
  sweep!: boolean;

  @ApiProperty()
  sweepGraceSeconds!: number;

  @ApiProperty()
  dryRun!: boolean;

  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'When the job scheduler fires next; null when disabled' })
  nextRunAt!: string | null;
}

export class PruneScheduleListDto {
  @ApiProperty({ type: [PruneScheduleDto] })
  schedules!: PruneScheduleDto[];
}

export class PruneRunDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  scheduleId!: string;

  @ApiProperty({ enum: ['running', 'succeeded', 'failed'] })
  status!: string;

  @ApiProperty({ format: 'date-time' })
  startedAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finishedAt!: string | null;

  @ApiProperty({ type: ScheduledPruneResultDto, nullable: true, description: 'Set once the run succeeded' })
  report!: ScheduledPruneResultDto | null;

  @ApiProperty({ nullable: true, type: String, description: 'Set once the run failed' })
  error!: string | null;
}

export class PruneRunListDto {
  @ApiProperty({ type: [PruneRunDto], description: 'Newest first; a schedule keeps its newest 100 runs' })
  runs!: PruneRunDto[];
}
