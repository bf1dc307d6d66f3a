/**
 * One line of Docker's newline-delimited JSON stream (the jsonmessage format the CLI renders).
 * Workers emit these as job progress; the gateway writes them to the client unchanged.
 */
export interface DockerProgress {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { code?: number; message: string };
}
