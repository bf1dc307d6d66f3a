/** dockerd's `httputils.BoolValue`: absent, "", "0", "no", "false", "none" are false. */
export function boolParam(value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  const v = String(Array.isArray(value) ? value[value.length - 1] : value).trim().toLowerCase();
  return !(v === '' || v === '0' || v === 'no' || v === 'false' || v === 'none');
}

/** A query parameter that may repeat (`names=a&names=b`), as a list. */
export function listParam(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String).filter((v) => v !== '');
}

export function stringParam(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return String(Array.isArray(value) ? value[value.length - 1] : value);
}
