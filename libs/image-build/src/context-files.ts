import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DiskTree, extractContext, IndexTree, resolveInTree, type SourceTree } from '@cargohold/build-context';
import { cleanRelative, ContextIndex } from '@cargohold/context-index';
import type { BuildJob } from '@cargohold/queue-contracts';
import type { BlobStore } from '@cargohold/storage';
import type { BuildWorkspace } from './build-workspace';

/** The build context as a build sees it: its Dockerfile, its `.dockerignore`, and its files. */
export class ContextFiles {
  private extraction: Promise<void> | null;

  private constructor(
    /** Where COPY/ADD sources are resolved and checksummed: the index, or the extracted files. */
    readonly tree: SourceTree,
    /** The Dockerfile's text; null when the context has no such file. */
    readonly dockerfile: string | null,
    readonly dockerignore: string,
    /** Whether `tree` is an index (the files are not on disk until `extract()`). */
    readonly indexed: boolean,
    private readonly extractNow: () => Promise<void>,
    extracted: boolean,
  ) {
    this.extraction = extracted ? Promise.resolve() : null;
  }

  /**
   * With an index staged beside the context (the gateway makes one while the context streams in),
   * nothing is extracted until a step needs the files; without one, the context is extracted now.
   */
  static async open(blobs: BlobStore, job: BuildJob, workspace: BuildWorkspace, maxBytes: number): Promise<ContextFiles> {
    const extractNow = async (): Promise<void> => {
      await extractContext(await blobs.openStaged(job.contextKey), workspace.context, { maxBytes, keep: [job.dockerfile, '.dockerignore'] });
    };
    const index = job.contextIndexKey ? await loadIndex(blobs, job.contextIndexKey) : null;
    const dockerfileRel = cleanRelative(job.dockerfile);
    const dockerfile = index && dockerfileRel ? index.kept(dockerfileRel) : null;
    if (index && dockerfile) {
      const dockerignore = index.kept('.dockerignore')?.toString('utf8') ?? '';
      return new ContextFiles(new IndexTree(index, workspace.context), dockerfile.toString('utf8'), dockerignore, true, extractNow, false);
    }
    // No index, or its Dockerfile is not a plain file in it (a symlink, or missing): the files decide.
    await extractNow();
    const tree = new DiskTree(workspace.context);
    const text = dockerfileRel ? await readInContext(tree, dockerfileRel) : null;
    return new ContextFiles(tree, text, (await readInContext(tree, '.dockerignore')) ?? '', false, extractNow, true);
  }

  /** Makes sure the context's files are on disk (at the workspace's context directory). */
  extract(): Promise<void> {
    this.extraction ??= this.extractNow();
    return this.extraction;
  }
}

async function loadIndex(blobs: BlobStore, key: string): Promise<ContextIndex | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.openStaged(key)) chunks.push(chunk as Buffer);
  // An unreadable index only costs the speed-up: the context itself is still there.
  try {
    return ContextIndex.fromBuffer(Buffer.concat(chunks));
  } catch {
    return null;
  }
}

/** A context file's text, symlinks followed with the context as `/` (never onto the builder host). */
async function readInContext(tree: DiskTree, rel: string): Promise<string | null> {
  const resolved = resolveInTree(tree, rel, 'scope');
  if (resolved.node?.type !== 'file') return null;
  return readFile(path.join(tree.root, resolved.rel), 'utf8');
}
