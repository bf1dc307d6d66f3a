/**
 * Why a sandboxed run could not produce a result. A command that runs and exits non-zero is not
 * an error (see SandboxResult); these are the cases where there is no exit code to report.
 *
 * - UNAVAILABLE: the host lacks a tool or the kernel refuses the namespaces.
 * - INVALID: the SandboxRun itself is malformed (empty argv, env entry without `=`, ...).
 * - USER: the Dockerfile USER cannot be resolved against the root filesystem.
 * - SETUP: preparing the root filesystem or the namespaces failed.
 * - CLEANUP: the run ended but something created for it could not be removed from the rootfs.
 * - ABORTED / TIMEOUT: the whole process tree was killed on request.
 */
export type SandboxErrorCode = 'UNAVAILABLE' | 'INVALID' | 'USER' | 'SETUP' | 'CLEANUP' | 'ABORTED' | 'TIMEOUT';

export class SandboxError extends Error {
  override readonly name = 'SandboxError';

  constructor(
    readonly code: SandboxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
