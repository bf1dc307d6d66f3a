import { RegistryApiError } from './registry-errors';

export interface PageQuery {
  n?: number;
  last?: string;
}

/** `n` and `last` of a tags or catalog request. */
export function parsePageQuery(query: Record<string, string | string[] | undefined>): PageQuery {
  const rawN = Array.isArray(query.n) ? query.n[0] : query.n;
  const last = Array.isArray(query.last) ? query.last[0] : query.last;
  let n: number | undefined;
  if (rawN !== undefined && rawN !== '') {
    n = Number(rawN);
    if (!Number.isSafeInteger(n) || n < 0) throw new RegistryApiError('UNSUPPORTED', 'invalid n: must be a non-negative integer', { n: rawN }, 400);
  }
  return { n, last: last === '' ? undefined : last };
}

/**
 * One page of sorted `items` (already after `last`, or filtered here when `last` is given) and
 * the RFC 5988 `Link` to the next one when more remain.
 */
export function paginate(items: string[], page: PageQuery, path: string): { items: string[]; link?: string } {
  const after = page.last === undefined ? items : items.filter((item) => item > page.last!);
  if (page.n === undefined || after.length <= page.n) return { items: after };
  const taken = after.slice(0, page.n);
  const last = taken[taken.length - 1];
  if (last === undefined) return { items: taken };
  return { items: taken, link: `<${path}?n=${page.n}&last=${encodeURIComponent(last)}>; rel="next"` };
}
