/**
 * The `rel="next"` target of a `Link` header (RFC 8288), resolved against `base`, or null.
 * Registries paginate tag lists and the catalog this way: `</v2/a/tags/list?n=2&last=b>; rel="next"`.
 */
export function nextLink(header: string | null | undefined, base: string | URL): URL | null {
  if (!header) return null;
  for (const link of splitLinks(header)) {
    const match = /^\s*<([^>]*)>(.*)$/s.exec(link);
    if (!match) continue;
    const [, target, paramText] = match;
    const rels = linkParams(paramText).get('rel');
    if (rels === undefined || !rels.toLowerCase().split(/\s+/).includes('next')) continue;
    try {
      return new URL(target, base);
    } catch {
      return null;
    }
  }
  return null;
}

/** Splits on commas that are outside `<…>` and quoted strings. */
function splitLinks(header: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inAngle = false;
  let inQuote = false;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i];
    if (inQuote) {
      if (ch === '\\' && i + 1 < header.length) current += ch + header[++i];
      else {
        if (ch === '"') inQuote = false;
        current += ch;
      }
      continue;
    }
    if (ch === '"') inQuote = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    else if (ch === ',' && !inAngle) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

function linkParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  const re = /;\s*([^\s=;]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*)))?/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const name = m[1].toLowerCase();
    if (!params.has(name)) params.set(name, (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  return params;
}
