import type { DockerProgress } from '@cargohold/queue-contracts';

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BAR_WIDTH = 50;

/** Go's `%.4g` for the values HumanSize produces (at most three integer digits, or 1000 after rounding). */
function fourSignificantDigits(value: number): string {
  return String(Number(value.toPrecision(4)));
}

/** go-units `HumanSize`: decimal units, four significant digits (`2.109MB`, `796kB`, `512B`). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${fourSignificantDigits(size)}${DECIMAL_UNITS[unit]}`;
}

/**
 * The `progress` string dockerd puts next to `progressDetail` (jsonmessage `JSONProgress.String()`
 * as the daemon renders it: no terminal, so 200 columns wide and a bar; no start time, so no ETA).
 * Empty when there is nothing to show.
 */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(Math.trunc(Math.trunc((current / total) * 100) / 2), BAR_WIDTH);
  const bar = `[${'='.repeat(filled)}>${' '.repeat(Math.max(BAR_WIDTH - filled, 0))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/** The id dockerd shows for a layer: the first 12 hex digits of a digest (`stringid.TruncateID`). */
export function layerProgressId(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1);
  return hex.slice(0, 12);
}

/** `progress.Message`: a plain status line, with an id when given (`{"status":"Pulling from x","id":"latest"}`). */
export function statusMessage(status: string, id?: string): DockerProgress {
  return id ? { status, id } : { status };
}

/** `progress.Update`: an action without counts; dockerd still sends an empty `progressDetail`. */
export function progressUpdate(id: string, action: string): DockerProgress {
  return { status: action, progressDetail: {}, id };
}

/** A progress-reader line (`Downloading`, `Pushing`) with counts and the bar. */
export function progressCounts(id: string, action: string, current: number, total: number): DockerProgress {
  const detail: { current?: number; total?: number } = {};
  // Go omits zero values (`omitempty`).
  if (current !== 0) detail.current = current;
  if (total !== 0) detail.total = total;
  const bar = progressBar(current, total);
  return bar ? { status: action, progressDetail: detail, progress: bar, id } : { status: action, progressDetail: detail, id };
}

/** `progress.Aux`: out-of-band data, e.g. a push's `{Tag, Digest, Size}`. */
export function auxMessage(aux: Record<string, unknown>): DockerProgress {
  return { progressDetail: {}, aux };
}
