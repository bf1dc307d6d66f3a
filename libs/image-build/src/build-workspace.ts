import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@cargohold/config';

/** Where one build's scratch files live: the context, and a root filesystem per stage. */
export interface BuildWorkspace {
  dir: string;
  context: string;
  /** A fresh directory for a stage's (or a COPY --from image's) root filesystem. */
  rootfs(name: string): Promise<string>;
  dispose(): Promise<void>;
}

/** tmpfs makes the thousands of small-file writes of a build ~25× cheaper than ext4 (ENVIRONMENT.md). */
const TMPFS = '/dev/shm';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Scratch space for builds: under CARGOHOLD_BUILD_DIR, else on /dev/shm when it is there, else
 * in the data directory. Each build gets its own directory, removed when the build ends however it
 * ends; a builder that was killed leaves its directories behind, and the next builder to start on
 * the machine removes every directory whose owner process is gone.
 */
@Injectable()
export class BuildWorkspaces implements OnModuleInit {
  private readonly logger = new Logger(BuildWorkspaces.name);
  readonly root: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.root = config.build.dir ?? (existsSync(TMPFS) ? path.join(TMPFS, 'cargohold-builds') : path.join(config.dataDir, 'builds'));
  }

  async onModuleInit(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    for (const entry of await readdir(this.root)) {
      const dir = path.join(this.root, entry);
      const owner = Number(await readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => '0'));
      if (owner && alive(owner)) continue;
      await rm(dir, { recursive: true, force: true });
      this.logger.log(`removed the scratch directory of an interrupted build: ${dir}`);
    }
  }

  async create(jobId: string): Promise<BuildWorkspace> {
    const dir = path.join(this.root, `${jobId.replace(/[^A-Za-z0-9._-]/g, '_')}-${process.pid}-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'owner.pid'), String(process.pid));
    const context = path.join(dir, 'context');
    await mkdir(context);
    let n = 0;
    return {
      dir,
      context,
      rootfs: async (name: string) => {
        const rootfs = path.join(dir, `rootfs-${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${n++}`);
        await mkdir(rootfs, { mode: 0o755 });
        return rootfs;
      },
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }
}
