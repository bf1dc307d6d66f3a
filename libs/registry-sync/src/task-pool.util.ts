/**
 * Runs `work` over `items` with at most `limit` at a time, in order of the items. On the first
 * failure the shared signal aborts (so running transfers stop), no new item starts, and once
 * everything running has settled the first failure is thrown.
 */
export async function runPool<T>(items: readonly T[], limit: number, work: (item: T, signal: AbortSignal) => Promise<void>, parent?: AbortSignal): Promise<void> {
  const controller = new AbortController();
  const signal = parent ? AbortSignal.any([parent, controller.signal]) : controller.signal;
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      if (signal.aborted) {
        failure = { error: signal.reason };
        break;
      }
      const item = items[next++];
      try {
        await work(item, signal);
      } catch (error) {
        if (failure === null) {
          failure = { error };
          controller.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}
