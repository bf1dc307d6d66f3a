import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';
import { CopyError, copyInto, type ResolvedSource, resolveChown, resolveSources, sourcesChecksum, urlSource } from '@cargohold/build-context';
import {
  BuildPlanError,
  type BuildPlan,
  createIgnoreMatcher,
  DockerfileSyntaxError,
  EXPANDED_INSTRUCTIONS,
  ExpansionError,
  expandInstruction,
  type Instruction,
  parseDockerfile,
  parseDockerignore,
  parseTrigger,
  type PlannedStage,
  planBuild,
  resolveRunCommand,
} from '@cargohold/dockerfile';
import { familiarName, formatPlatform, hostPlatform, type HistoryEntry, type ImageConfig, parsePlatform, type Platform } from '@cargohold/oci';
import { type JobContext, PermanentJobError } from '@cargohold/queue';
import type { BuildJob, BuildResult } from '@cargohold/queue-contracts';
import { applyLayer, diff, RootScope, snapshot } from '@cargohold/rootfs';
import { runInSandbox } from '@cargohold/sandbox';
import { BLOB_STORE, type BlobDigest, type BlobStore } from '@cargohold/storage';
import { BaseImagesService, scratchImage } from './base-images.service';
import { BuildCacheRepository, stepCacheKey } from './build-cache.repository';
import { BuildImagesService, type BuildLayer, type ImageState } from './build-images.service';
import { BuildOutput } from './build-output';
import { type BuildWorkspace, BuildWorkspaces } from './build-workspace';
import { applyToConfig, ConfigDispatchError, DEFAULT_SHELL, isMetadataInstruction, resolveWorkdir } from './config-dispatch';
import { ContextFiles } from './context-files';
import { captureLayer } from './layer-capture';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A build failure the user must fix (bad Dockerfile, failing RUN, missing source): reported, never retried. */
class BuildError extends PermanentJobError {}

/** What a COPY/ADD copies: the identity its cache key uses, and the sources themselves on demand. */
interface CopySources {
  checksum: string;
  resolve(): Promise<ResolvedSource[]>;
}

/** One stage while it runs. */
interface StageRun {
  planned: PlannedStage;
  platform: Platform;
  state: ImageState;
  /** The image the stage started from, for --squash. */
  base: ImageState;
  /** ARGs declared in this stage, with their values (undefined: declared, no value). */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  /** The stage's root filesystem on disk, once a step needed it, and the image it holds. */
  rootfs?: { dir: string; imageId: string | null; layers: number };
}

interface BuildRun {
  job: BuildJob;
  ctx: JobContext;
  output: BuildOutput;
  workspace: BuildWorkspace;
  context: ContextFiles;
  plan: BuildPlan;
  escape: string;
  ignores: (p: string) => boolean;
  /** Finished stages by index. */
  stages: Map<number, StageRun>;
  step: number;
  /** `--cache-from` images found in the store. */
  cacheSources: ImageState[];
  /** Keys of the cache entries this build used. */
  cacheHits: string[];
}

function containerId(): string {
  return randomBytes(32).toString('hex');
}

function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) map.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return map;
}

/** What a step is, for its cache key and history: the instruction without where it was written. */
function describe(inst: Instruction): string {
  const { line: _line, endLine: _endLine, original: _original, ...rest } = inst as Instruction & { line: number; endLine: number; original: string };
  return JSON.stringify(rest);
}

/**
 * The legacy builder (`DOCKER_BUILDKIT=0 docker build`) as a builder job. Each instruction is a
 * step that commits an intermediate image whose parent is the previous one; each step's cache
 * key (parent image + instruction + the build args it sees + for COPY/ADD the checksum of its
 * sources) is looked up in the shared cache first. RUN executes in a sandbox over the stage's
 * root filesystem, materialised on local scratch space only when a step needs it, and the change
 * it makes is captured as a deterministic layer. Nothing is tagged until the last step is done.
 */
@Injectable()
export class BuildService {
  private readonly logger = new Logger(BuildService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly images: BuildImagesService,
    private readonly bases: BaseImagesService,
    private readonly cache: BuildCacheRepository,
    private readonly workspaces: BuildWorkspaces,
  ) {}

  async build(job: BuildJob, ctx: JobContext): Promise<BuildResult> {
    const output = new BuildOutput((event) => ctx.progress(event), job.quiet);
    const workspace = await this.workspaces.create(ctx.jobId);
    let finished = false;
    try {
      const result = await this.run(job, ctx, output, workspace);
      finished = true;
      return result;
    } catch (error) {
      const permanent = this.permanent(error);
      if (permanent) finished = true;
      throw permanent ?? error;
    } finally {
      await workspace.dispose().catch((e: unknown) => this.logger.warn(`could not remove ${workspace.dir}: ${String(e)}`));
      // A transient failure keeps the context for the retry; the staging expiry removes leftovers.
      if (finished || ctx.signal.aborted) {
        for (const key of [job.contextKey, job.contextIndexKey]) if (key) await this.blobs.removeStaged(key).catch(() => undefined);
      }
    }
  }

  private permanent(error: unknown): PermanentJobError | null {
    if (error instanceof PermanentJobError) return error;
    if (error instanceof DockerfileSyntaxError || error instanceof BuildPlanError || error instanceof ExpansionError) return new BuildError(error.message);
    if (error instanceof CopyError || error instanceof ConfigDispatchError) return new BuildError(error.message);
    return null;
  }

  private async run(job: BuildJob, ctx: JobContext, output: BuildOutput, workspace: BuildWorkspace): Promise<BuildResult> {
    const started = performance.now();
    const context = await ContextFiles.open(this.blobs, job, workspace, this.config.loadMaxBytes);
    const contextMs = performance.now() - started;
    if (context.dockerfile === null) throw new BuildError(`Cannot locate specified Dockerfile: ${job.dockerfile}`);
    const dockerfile = parseDockerfile(context.dockerfile);
    const matcher = createIgnoreMatcher(parseDockerignore(context.dockerignore));
    const plan = planBuild(dockerfile, { target: job.target, buildArgs: job.buildArgs as Record<string, string | undefined> });
    const run: BuildRun = {
      job,
      ctx,
      output,
      workspace,
      context,
      plan,
      escape: dockerfile.directives.escape,
      ignores: (p) => matcher.ignores(p),
      stages: new Map(),
      step: 0,
      cacheSources: await this.cacheSources(job.cacheFrom),
      cacheHits: [],
    };
    // Global ARGs are steps of their own in the legacy builder's count.
    for (const arg of dockerfile.globalArgs) await output.step(++run.step, plan.totalSteps, arg.original);
    for (const planned of plan.stages) {
      ctx.signal.throwIfAborted();
      run.stages.set(planned.stage.index, await this.runStage(run, planned));
    }
    const target = run.stages.get(plan.target.stage.index);
    if (!target?.state.id) throw new BuildError('No image was generated. Is your Dockerfile empty?');
    let imageId = target.state.id;
    if (Object.keys(job.labels).length) imageId = await this.applyLabels(run, target);
    if (job.squash) imageId = await this.squash(run, target);
    for (const warning of plan.warnings) await output.note(warning);
    await this.images.tag(imageId, job.tags);
    const tags = job.tags.map((t) => {
      const colon = t.lastIndexOf(':');
      return `${familiarName(t.slice(0, colon))}${t.slice(colon)}`;
    });
    await output.built(imageId, tags);
    await this.cache.touch(run.cacheHits).catch((e: unknown) => this.logger.warn(`could not record build cache use: ${String(e)}`));
    this.logger.debug(
      `build ${ctx.jobId}: context ${context.indexed ? 'indexed' : 'extracted'} in ${contextMs.toFixed(0)} ms, ${run.step} steps in ${(performance.now() - started - contextMs).toFixed(0)} ms`,
    );
    return { imageId, tags };
  }

  private async runStage(run: BuildRun, planned: PlannedStage): Promise<StageRun> {
    const { job, output } = run;
    await output.step(++run.step, run.plan.totalSteps, planned.stage.from.original);
    const platform = planned.platform ? parsePlatform(planned.platform) : job.platform ? parsePlatform(job.platform) : hostPlatform();
    let state: ImageState;
    if (planned.baseStage !== undefined) {
      const from = run.stages.get(planned.baseStage);
      if (!from) throw new BuildError(`stage ${planned.baseStage} was not built before it was used`);
      state = from.state;
    } else if (planned.baseImage.toLowerCase() === 'scratch') {
      state = scratchImage(platform);
    } else {
      state = await this.bases.resolve(planned.baseImage, { platform, pull: job.pull, auth: job.registryAuth, signal: run.ctx.signal }, output);
    }
    if (state.id) await output.image(state.id);
    const stage: StageRun = { planned, platform, state, base: state, args: new Map(), cmdSet: false };

    const triggers = state.config.config?.OnBuild ?? [];
    if (triggers.length) {
      await output.note(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}`);
      // Triggers run once, in the child: the image they produce does not carry them on.
      for (const trigger of triggers) await this.runInstruction(run, stage, parseTrigger(trigger), { clearOnBuild: true });
    }
    for (const inst of planned.stage.instructions) {
      run.ctx.signal.throwIfAborted();
      await output.step(++run.step, run.plan.totalSteps, inst.original);
      await this.runInstruction(run, stage, inst, {});
    }
    return stage;
  }

  /** Variables an instruction may expand: the image's ENV first, then the stage's ARGs. */
  private lookup(stage: StageRun): (name: string) => string | undefined {
    const env = envMap(stage.state.config.config?.Env);
    return (name) => env.get(name) ?? stage.args.get(name);
  }

  /** The build args a RUN sees as environment (declared, with a value, not shadowed by ENV), sorted. */
  private runArgs(stage: StageRun): Array<[string, string]> {
    const env = envMap(stage.state.config.config?.Env);
    return [...stage.args.entries()].filter((e): e is [string, string] => e[1] !== undefined && !env.has(e[0])).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  private argValue(run: BuildRun, key: string, fallback: string | undefined): string | undefined {
    const given = run.job.buildArgs[key];
    if (given !== undefined && given !== null) return given;
    return fallback ?? run.plan.globalArgs[key];
  }

  private async runInstruction(run: BuildRun, stage: StageRun, raw: Instruction, options: { clearOnBuild?: boolean }): Promise<void> {
    const inst = EXPANDED_INSTRUCTIONS.has(raw.kind) ? expandInstruction(raw, this.lookup(stage), run.escape) : raw;
    if (inst.kind === 'arg') for (const a of inst.args) stage.args.set(a.key, this.argValue(run, a.key, a.value));

    let sources: CopySources | undefined;
    if (inst.kind === 'copy' || inst.kind === 'add') sources = await this.resolveCopySources(run, stage, inst);
    const args = inst.kind === 'run' ? this.runArgs(stage) : [];
    const key = stepCacheKey({
      parent: stage.state.id ?? `scratch:${formatPlatform(stage.platform)}`,
      instruction: `${describe(inst)}${options.clearOnBuild ? '|trigger' : ''}`,
      args,
      sources: sources?.checksum,
      platform: formatPlatform(stage.platform),
    });
    if (!run.job.noCache) {
      const hit = await this.cache.lookup(key);
      if (hit) {
        run.cacheHits.push(key);
        stage.state = await this.images.load(hit);
        await run.output.usingCache();
        await run.output.image(hit);
        return;
      }
    }

    const created = this.createdAt(run.job);
    const config = structuredClone(stage.state.config);
    config.config ??= {};
    let layer: BuildLayer | null = null;
    let createdBy: string;
    if (isMetadataInstruction(inst)) {
      const cid = containerId();
      await run.output.runningIn(cid);
      const applied = applyToConfig(config.config, inst, stage);
      config.config = applied.config;
      if (applied.author !== undefined) config.author = applied.author;
      createdBy = `/bin/sh -c #(nop)  ${inst.original.replace(/^\S+/, (w) => w.toUpperCase())}`;
      await this.commitStep(run, stage, key, config, null, createdBy, created, { ...options, container: cid });
      return;
    }
    switch (inst.kind) {
      case 'run': {
        const command = resolveRunCommand(inst);
        const argv = command.execForm ? command.args : [...(config.config.Shell?.length ? config.config.Shell : DEFAULT_SHELL), ...command.args];
        createdBy = `${args.length ? `|${args.length} ${args.map(([k, v]) => `${k}=${v}`).join(' ')} ` : ''}${argv.join(' ')}`;
        const reused = this.fromCacheSources(run, stage, [createdBy]);
        if (reused) {
          await run.output.usingCache();
          await this.commitStep(run, stage, key, config, reused.layer, createdBy, created, { ...options, layerNotOnDisk: true });
          return;
        }
        const cid = containerId();
        await run.output.runningIn(cid);
        layer = await this.execRun(run, stage, inst, args);
        await this.commitStep(run, stage, key, config, layer, createdBy, created, { ...options, container: cid });
        return;
      }
      case 'copy':
      case 'add': {
        const hex = sources!.checksum.replace(/^sha256:/, '');
        const variants = ['file', 'dir'].map((what) => `/bin/sh -c #(nop) ${inst.kind.toUpperCase()} ${what}:${hex} in ${inst.dest} `);
        const reused = this.fromCacheSources(run, stage, variants);
        if (reused) {
          await run.output.usingCache();
          await this.commitStep(run, stage, key, config, reused.layer, reused.createdBy, created, { ...options, layerNotOnDisk: true });
          return;
        }
        const list = await sources!.resolve();
        layer = await this.execCopy(run, stage, inst, list);
        const what = list.length === 1 && list[0].kind === 'file' ? 'file' : 'dir';
        createdBy = `/bin/sh -c #(nop) ${inst.kind.toUpperCase()} ${what}:${sources!.checksum.replace(/^sha256:/, '')} in ${inst.dest} `;
        await this.commitStep(run, stage, key, config, layer, createdBy, created, options);
        return;
      }
      case 'workdir': {
        const cid = containerId();
        await run.output.runningIn(cid);
        const workdir = resolveWorkdir(config.config.WorkingDir ?? '', inst.path);
        config.config.WorkingDir = workdir;
        layer = await this.execMkdir(run, stage, workdir);
        createdBy = `/bin/sh -c #(nop) WORKDIR ${workdir}`;
        await this.commitStep(run, stage, key, config, layer, createdBy, created, { ...options, container: cid });
        return;
      }
    }
  }

  private createdAt(job: BuildJob): string {
    return job.sourceDateEpoch !== undefined ? new Date(job.sourceDateEpoch * 1000).toISOString() : new Date().toISOString();
  }

  private async commitStep(
    run: BuildRun,
    stage: StageRun,
    key: string,
    config: ImageConfig,
    layer: BuildLayer | null,
    createdBy: string,
    created: string,
    options: { clearOnBuild?: boolean; container?: string; layerNotOnDisk?: boolean },
  ): Promise<void> {
    if (options.clearOnBuild && config.config) config.config.OnBuild = null;
    const history: HistoryEntry = { created, created_by: createdBy, ...(layer ? {} : { empty_layer: true }) };
    config.created = created;
    config.history = [...(config.history ?? []), history];
    const layers = layer ? [...stage.state.layers, layer] : stage.state.layers;
    config.rootfs = { type: 'layers', diff_ids: layers.map((l) => l.diffId) };
    const id = await this.images.commit(config, layers, stage.state.id);
    await this.cache.record(key, id);
    stage.state = { id, config, layers };
    // A layer taken from a --cache-from image is not in the stage's root filesystem yet: ensureRootfs applies it when needed.
    if (stage.rootfs && layer && !options.layerNotOnDisk) stage.rootfs = { ...stage.rootfs, imageId: id, layers: layers.length };
    else if (stage.rootfs && stage.rootfs.layers === layers.length) stage.rootfs = { ...stage.rootfs, imageId: id };
    // The legacy builder removes the step's container before it prints the image.
    if (options.container && run.job.rm) await run.output.removingContainer(options.container);
    await run.output.image(id);
  }

  /** `--cache-from` images that are in the store (others are ignored, as the legacy builder does). */
  private async cacheSources(names: string[]): Promise<ImageState[]> {
    const found: ImageState[] = [];
    for (const name of names) {
      const local = await this.bases.findLocal(name).catch(() => null);
      if (local) found.push(local);
    }
    return found;
  }

  /**
   * The legacy builder's `--cache-from`: an image given as a cache source whose history starts
   * with this stage's history, and whose next entry is this step (`createdBy`, one of
   * `candidates`), supplies that step's layer without running it.
   */
  private fromCacheSources(run: BuildRun, stage: StageRun, candidates: string[]): { layer: BuildLayer; createdBy: string } | null {
    if (run.job.noCache) return null;
    const mine = stage.state.config.history ?? [];
    const layers = stage.state.layers;
    for (const source of run.cacheSources) {
      const theirs = source.config.history ?? [];
      const next = theirs[mine.length];
      if (!next?.created_by || next.empty_layer || !candidates.includes(next.created_by)) continue;
      if (!mine.every((h, i) => h.created_by === theirs[i].created_by && Boolean(h.empty_layer) === Boolean(theirs[i].empty_layer))) continue;
      if (source.layers.length <= layers.length || !layers.every((l, i) => l.diffId === source.layers[i].diffId)) continue;
      return { layer: source.layers[layers.length], createdBy: next.created_by };
    }
    return null;
  }

  /** The stage's root filesystem on disk, holding exactly its current image's layers. */
  private async ensureRootfs(run: BuildRun, stage: StageRun): Promise<string> {
    const current = stage.rootfs;
    const layers = stage.state.layers;
    if (current && current.layers <= layers.length && (current.imageId === stage.state.id || current.layers === layers.length)) {
      // Only layers appended since (cache hits after the rootfs was built) need applying.
      for (const layer of layers.slice(current.layers)) await applyLayer(await this.blobs.get(layer.digest as BlobDigest), current.dir);
      stage.rootfs = { dir: current.dir, imageId: stage.state.id, layers: layers.length };
      return current.dir;
    }
    if (current) await rm(current.dir, { recursive: true, force: true });
    const dir = await run.workspace.rootfs(`stage${stage.planned.stage.index}`);
    for (const layer of layers) await applyLayer(await this.blobs.get(layer.digest as BlobDigest), dir);
    stage.rootfs = { dir, imageId: stage.state.id, layers: layers.length };
    return dir;
  }

  private async execRun(run: BuildRun, stage: StageRun, inst: Extract<Instruction, { kind: 'run' }>, args: Array<[string, string]>): Promise<BuildLayer> {
    const root = await this.ensureRootfs(run, stage);
    const cfg = stage.state.config.config ?? {};
    const command = resolveRunCommand(inst);
    const before = await snapshot(root);
    let script: string | undefined;
    if (command.file) {
      script = path.join(root, `.cargohold-heredoc-${randomBytes(6).toString('hex')}`);
      await writeFile(script, command.file.data, { mode: 0o755 });
    }
    const argv = command.execForm ? command.args : [...(cfg.Shell?.length ? cfg.Shell : DEFAULT_SHELL), ...command.args];
    const runArgv = script ? argv.map((a) => (a === command.file!.path ? `/${path.basename(script!)}` : a)) : argv;
    const env = [...(cfg.Env ?? [DEFAULT_PATH]), ...args.map(([k, v]) => `${k}=${v}`)];
    const allowNetwork = ['host', 'bridge'].includes(run.job.networkMode) && inst.network !== 'none';
    try {
      const result = await runInSandbox({
        root,
        argv: runArgv,
        env,
        user: cfg.User || undefined,
        workdir: cfg.WorkingDir || '/',
        network: allowNetwork ? 'host' : 'none',
        signal: run.ctx.signal,
        limits: run.job.limits,
        onOutput: (chunk) => void run.output.output(chunk),
      });
      await run.output.endOutput();
      if (result.exitCode !== 0) throw new BuildError(`The command '${argv.join(' ')}' returned a non-zero code: ${result.exitCode}`);
    } finally {
      if (script) await rm(script, { force: true });
    }
    const changes = await diff(root, before);
    return captureLayer(this.blobs, root, changes, run.job.sourceDateEpoch);
  }

  private async execMkdir(run: BuildRun, stage: StageRun, workdir: string): Promise<BuildLayer | null> {
    const root = await this.ensureRootfs(run, stage);
    const before = await snapshot(root);
    // Resolved inside the root filesystem (its symlinks followed as if it were `/`): an image
    // whose /app links to /etc must not make WORKDIR /app/x create a directory on the host.
    // As before, a WORKDIR that cannot be created (a file in the way) is left to the first RUN to trip over.
    const scope = new RootScope(await realpath(root));
    try {
      scope.resolveDir(workdir.replace(/^\/+/, ''), true);
    } catch {
      /* see above */
    }
    const changes = await diff(root, before);
    return changes.length ? captureLayer(this.blobs, root, changes, run.job.sourceDateEpoch) : null;
  }

  /**
   * COPY/ADD sources and what identifies them for the cache key: for the context and URLs, the
   * checksum of their content and metadata; for another stage or image, that image's ID (its
   * content follows from it), so a cached COPY --from never unpacks the other root filesystem.
   */
  private async resolveCopySources(run: BuildRun, stage: StageRun, inst: Extract<Instruction, { kind: 'copy' | 'add' }>): Promise<CopySources> {
    const instruction = inst.kind === 'add' ? ('ADD' as const) : ('COPY' as const);
    if (inst.kind === 'copy' && inst.from !== undefined) {
      const source = stage.planned.copySources.get(inst.line);
      if (source && 'stage' in source) {
        const from = run.stages.get(source.stage);
        if (!from?.state.id) throw new BuildError(`COPY --from=${inst.from}: stage ${source.stage} was not built`);
        return {
          checksum: `stage-image:${from.state.id}`,
          resolve: async () => resolveSources(await this.ensureRootfs(run, from), inst.sources, { instruction }),
        };
      }
      const image = await this.bases.resolve(source && 'image' in source ? source.image : inst.from, { platform: stage.platform, pull: false, auth: run.job.registryAuth, signal: run.ctx.signal }, run.output);
      return {
        checksum: `image:${image.id}`,
        resolve: async () => {
          const dir = await run.workspace.rootfs('copy-from');
          for (const layer of image.layers) await applyLayer(await this.blobs.get(layer.digest as BlobDigest), dir);
          return resolveSources(dir, inst.sources, { instruction });
        },
      };
    }
    const urls: ResolvedSource[] = [];
    const local: string[] = [];
    for (const source of inst.sources) {
      if (inst.kind === 'add' && /^https?:\/\//i.test(source)) {
        const fetched = await urlSource(source, { maxBytes: this.config.build.addUrlMaxBytes, signal: run.ctx.signal, tmpDir: run.workspace.dir });
        urls.push(fetched.source);
      } else local.push(source);
    }
    // Resolved in the context's index when there is one: the files are only extracted to be copied.
    // Index and extraction give the same entries (index-tree.int-spec), so their host paths hold.
    const fromContext = local.length ? await resolveSources(run.context.tree, local, { ignores: run.ignores, instruction }) : [];
    const inline: ResolvedSource[] = [];
    for (const source of inst.inlineSources) {
      const file = path.join(run.workspace.dir, `inline-${randomBytes(6).toString('hex')}`, source.path);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, source.data, { mode: 0o644 });
      inline.push(...(await resolveSources(path.dirname(file), [source.path])));
    }
    const list = [...urls, ...fromContext, ...inline];
    return {
      checksum: await sourcesChecksum(list),
      resolve: async () => {
        if (local.length) await run.context.extract();
        return list;
      },
    };
  }

  private async execCopy(
    run: BuildRun,
    stage: StageRun,
    inst: Extract<Instruction, { kind: 'copy' | 'add' }>,
    list: ResolvedSource[],
  ): Promise<BuildLayer> {
    const root = await this.ensureRootfs(run, stage);
    const before = await snapshot(root);
    const chown = inst.chown ? await resolveChown(inst.chown, root) : undefined;
    const chmod = inst.chmod ? parseChmod(inst.chmod) : undefined;
    await copyInto(list, root, inst.dest, {
      workdir: stage.state.config.config?.WorkingDir || '/',
      chown,
      chmod,
      isAdd: inst.kind === 'add',
    });
    const changes = await diff(root, before);
    return captureLayer(this.blobs, root, changes, run.job.sourceDateEpoch);
  }

  /** `--label`: one more commit on the target, as the legacy builder applies build labels. */
  private async applyLabels(run: BuildRun, target: StageRun): Promise<string> {
    const config = structuredClone(target.state.config);
    config.config = { ...(config.config ?? {}), Labels: { ...(config.config?.Labels ?? {}), ...run.job.labels } };
    const created = this.createdAt(run.job);
    const labels = Object.entries(run.job.labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ');
    config.created = created;
    config.history = [...(config.history ?? []), { created, created_by: `/bin/sh -c #(nop)  LABEL ${labels}`, empty_layer: true }];
    const id = await this.images.commit(config, target.state.layers, target.state.id);
    target.state = { id, config, layers: target.state.layers };
    return id;
  }

  /** `--squash`: the layers this build added to the target become one, on top of its base image. */
  private async squash(run: BuildRun, target: StageRun): Promise<string> {
    const base = target.base;
    const added = target.state.layers.slice(base.layers.length);
    if (added.length === 0 || !target.state.id) return target.state.id!;
    const dir = await run.workspace.rootfs('squash');
    for (const layer of base.layers) await applyLayer(await this.blobs.get(layer.digest as BlobDigest), dir);
    const before = await snapshot(dir);
    for (const layer of added) await applyLayer(await this.blobs.get(layer.digest as BlobDigest), dir);
    const layer = await captureLayer(this.blobs, dir, await diff(dir, before), run.job.sourceDateEpoch);
    const created = this.createdAt(run.job);
    const config = structuredClone(target.state.config);
    const baseHistory = config.history?.slice(0, base.config.history?.length ?? 0) ?? [];
    const buildHistory = (config.history?.slice(baseHistory.length) ?? []).map((h) => ({ ...h, empty_layer: true }));
    config.history = [...baseHistory, ...buildHistory, { created, created_by: '', comment: `merge ${target.state.id} to ${base.id ?? 'scratch'}` }];
    const layers = [...base.layers, layer];
    config.rootfs = { type: 'layers', diff_ids: layers.map((l) => l.diffId) };
    config.created = created;
    return this.images.commit(config, layers, base.id);
  }
}

/** `--chmod=755` (octal, as Docker takes it). */
function parseChmod(raw: string): number {
  if (!/^[0-7]{3,4}$/.test(raw)) throw new BuildError(`invalid chmod parameter: ${raw}`);
  return Number.parseInt(raw, 8);
}
