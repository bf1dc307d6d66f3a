/**
 * Lets the event loop run between slices of about 10 ms of synchronous file system work.
 * applyLayer and writeLayer make their many small calls synchronously: on a cached tree one
 * fs.promises round trip costs several times the call itself.
 */
export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(private readonly sliceMs = 10) {}

  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }
}
