/** An OCI platform, as in index entries and image configs. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export class InvalidPlatformError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = 'InvalidPlatformError';
  }
}

const KNOWN_OS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd',
  'openbsd', 'plan9', 'solaris', 'windows', 'zos',
]);
const KNOWN_ARCH = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle',
  'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64',
  'wasm',
]);
const COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;

function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/**
 * containerd's architecture table, except that the implied variants are spelled out (arm64 → v8,
 * arm → v7) so that two platforms compare equal exactly when they are the same.
 */
function normalizeArch(architecture: string, variant: string): { architecture: string; variant: string } {
  const arch = architecture.toLowerCase();
  const v = variant.toLowerCase();
  switch (arch) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
    case 'aarch64':
    case 'arm64':
      if (v === '' || v === '8' || v === 'v8' || v === 'v8.0') return { architecture: 'arm64', variant: 'v8' };
      if (v === '9' || v === '9.0' || v === 'v9.0') return { architecture: 'arm64', variant: 'v9' };
      return { architecture: 'arm64', variant: v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      if (v === '' || v === '7') return { architecture: 'arm', variant: 'v7' };
      if (v === '5' || v === '6' || v === '8') return { architecture: 'arm', variant: `v${v}` };
      return { architecture: 'arm', variant: v };
    default:
      return { architecture: arch, variant: v };
  }
}

/** Canonical form: lower case, `x86_64` → `amd64`, `aarch64` → `arm64`, implied arm variants made explicit. */
export function normalizePlatform(platform: Platform): Platform {
  const { architecture, variant } = normalizeArch(platform.architecture, platform.variant ?? '');
  const out: Platform = { os: normalizeOs(platform.os), architecture };
  if (variant) out.variant = variant;
  if (platform['os.version']) out['os.version'] = platform['os.version'];
  if (platform['os.features']?.length) out['os.features'] = [...platform['os.features']];
  return out;
}

/** The platform of the Node process, in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch[process.arch] ?? process.arch });
}

/**
 * Parses `os[/arch[/variant]]` as `docker --platform` does. A lone OS or architecture takes the
 * missing half from `defaults` (the host when omitted).
 */
export function parsePlatform(specifier: string, defaults: Platform = hostPlatform()): Platform {
  const parts = specifier.split('/');
  if (parts.length > 3 || parts.some((part) => !COMPONENT_RE.test(part))) {
    throw new InvalidPlatformError(
      `"${specifier}": invalid platform: expected os[/arch[/variant]] with components matching ${COMPONENT_RE.source}`,
      specifier,
    );
  }
  const [first, arch, variant] = parts;
  if (parts.length === 1) {
    const os = normalizeOs(first);
    if (KNOWN_OS.has(os)) return normalizePlatform({ ...defaults, os, 'os.version': undefined, 'os.features': undefined });
    const normalized = normalizeArch(first, '');
    if (KNOWN_ARCH.has(normalized.architecture)) {
      return normalizePlatform({ os: defaults.os, architecture: normalized.architecture });
    }
    throw new InvalidPlatformError(`"${specifier}": unknown operating system or architecture`, specifier);
  }
  return normalizePlatform({ os: first, architecture: arch, variant });
}

/** `linux/arm64/v8`, `linux/amd64`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part).join('/');
}

/**
 * True when `have` is the platform `want` asks for (after normalization). `os.version` only
 * narrows the match when both sides state one (it matters for Windows images alone).
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  const a = normalizePlatform(want);
  const b = normalizePlatform(have);
  if (a.os !== b.os || a.architecture !== b.architecture || (a.variant ?? '') !== (b.variant ?? '')) return false;
  if (a['os.version'] && b['os.version'] && a['os.version'] !== b['os.version']) return false;
  return true;
}
