import { z } from 'zod';

/**
 * Payload of the import job (`docker import`, `POST /images/create?fromSrc=…`).
 * To move to @cargohold/queue-contracts as `import.v1`.
 */
export const importJobSchema = z
  .object({
    /** Root filesystem tar (plain or gzip) staged in the blob store; the job removes it when done. */
    sourceKey: z.string().min(1).optional(),
    /** `fromSrc=<url>`: fetched over http(s); a URL without a scheme is taken as http://, as dockerd does. */
    sourceUrl: z.string().min(1).optional(),
    /** `repo` as the client sent it, possibly with a tag (`busybox:1`); untagged when absent. */
    repo: z.string().optional(),
    /** `tag`; overrides a tag in `repo`; `latest` when neither gives one. */
    tag: z.string().optional(),
    /** History comment; `Imported from -` / `Imported from <url>` when empty. */
    message: z.string().optional(),
    /** Dockerfile instructions applied to the config (`--change`). */
    changes: z.array(z.string()).default([]),
    /** `os[/arch[/variant]]`; the host platform when absent. */
    platform: z.string().optional(),
    /**
     * Creation time (RFC 3339) set by the producer, so that a retried job builds the same config
     * and thus the same image ID; the time the job runs when absent.
     */
    created: z.string().optional(),
  })
  .refine((job) => (job.sourceKey === undefined) !== (job.sourceUrl === undefined), {
    message: 'exactly one of sourceKey and sourceUrl is required',
  });

export type ImportJob = z.infer<typeof importJobSchema>;
export type ImportJobPayload = z.input<typeof importJobSchema>;

export interface ImportResult {
  /** Image ID (`sha256:…` of the config); the gateway prints it as the final status line. */
  id: string;
  /** Familiar `repo:tag` the image was tagged with, when a repository was given. */
  tag?: string;
}
