/**
 * The text format of `getfattr --dump` and `setfattr --restore` (package attr): blocks of
 * `# file: <path>` followed by `name=value` lines. Paths and names escape unprintable bytes,
 * spaces and backslashes as `\ooo` (three octal digits).
 */

export type XattrDump = Map<string, Map<string, Buffer>>;

/** `\ooo` escapes back to bytes, then UTF-8. */
export function unescapeDumpText(text: string): string {
  if (!text.includes('\\')) return text;
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(raw[i]);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Escapes every byte that is not printable ASCII (and space and backslash) as `\ooo`. */
export function escapeDumpText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte <= 0x20 || byte >= 0x7f || byte === 0x5c || byte === 0x3d ? `\\${byte.toString(8).padStart(3, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

function decodeValue(value: string): Buffer {
  if (value.startsWith('0x') || value.startsWith('0X')) return Buffer.from(value.slice(2), 'hex');
  if (value.startsWith('0s') || value.startsWith('0S')) return Buffer.from(value.slice(2), 'base64');
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    return Buffer.from(unescapeDumpText(value.slice(1, -1)), 'utf8');
  }
  return Buffer.from(value, 'utf8');
}

/** Parses `getfattr --dump` output (any `-e` encoding) into path → name → value. */
export function parseXattrDump(text: string): XattrDump {
  const out: XattrDump = new Map();
  let current: Map<string, Buffer> | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      const path = unescapeDumpText(line.slice('# file: '.length));
      current = out.get(path) ?? new Map<string, Buffer>();
      out.set(path, current);
      continue;
    }
    if (line === '' || line.startsWith('#') || current === null) continue;
    const at = line.indexOf('=');
    const name = unescapeDumpText(at < 0 ? line : line.slice(0, at));
    current.set(name, at < 0 ? Buffer.alloc(0) : decodeValue(line.slice(at + 1)));
  }
  return out;
}

/** Input for `setfattr --restore`: values hex-encoded, blocks in the order given. */
export function formatXattrDump(dump: ReadonlyMap<string, ReadonlyMap<string, Buffer>>): string {
  let out = '';
  for (const [path, attrs] of dump) {
    if (attrs.size === 0) continue;
    out += `# file: ${escapeDumpText(path)}\n`;
    for (const [name, value] of attrs) out += `${escapeDumpText(name)}=0x${value.toString('hex')}\n`;
    out += '\n';
  }
  return out;
}
