import { runInSandbox } from '../sandbox';
import type { SandboxResult, SandboxRun } from '../sandbox';

export interface Captured extends SandboxResult {
  stdout: string;
  stderr: string;
}

export type CaptureInput = Omit<SandboxRun, 'root' | 'network' | 'env'> & Partial<SandboxRun>;

/** Runs in `root` (network none, a busybox PATH, 30 s timeout unless given) and collects the output. */
export async function captureRun(root: string, input: CaptureInput): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const result = await runInSandbox({
    root,
    network: 'none',
    env: ['PATH=/bin:/sbin:/usr/bin:/usr/sbin'],
    timeoutMs: 30_000,
    ...input,
    onOutput: (chunk, stream) => {
      if (stream === 'stdout') stdout += chunk.toString();
      else stderr += chunk.toString();
      input.onOutput?.(chunk, stream);
    },
  });
  return { ...result, stdout, stderr };
}

export const sh = (script: string): string[] => ['/bin/sh', '-c', script];
