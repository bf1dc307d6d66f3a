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

/**
 * A job that fails before it has said anything reports its failure as one progress line with
 * `errorDetail.code` set to the HTTP status dockerd would answer (404 for an unknown manifest,
 * 401 for refused credentials…), then throws. The gateway, if it has not started its response
 * yet, turns that line into a plain `{"message"}` error with that status, as dockerd does when
 * nothing was flushed; otherwise it writes the line into the stream unchanged.
 */
export function failureProgress(status: number, message: string): DockerProgress {
  return { errorDetail: { code: status, message }, error: message };
}
