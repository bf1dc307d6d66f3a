/** The slice of a logger the queue runtime writes to; Nest's Logger fits it. */
export interface QueueLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Used when no logger is given: problems still reach stderr, routine lines are dropped. */
export const stderrQueueLogger: QueueLogger = {
  log: () => undefined,
  warn: (message) => console.warn(message),
  error: (message) => console.error(message),
};
