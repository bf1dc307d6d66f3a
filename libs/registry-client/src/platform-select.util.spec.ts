import type { Descriptor, ImageIndex, Platform } from '@cargohold/oci';
import { describe, expect, it } from 'vitest';
import { compatiblePlatforms, isAttestationManifest, selectPlatformManifest } from './platform-select.util';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function entry(n: number, platform?: Platform, annotations?: Record<string, string>): Descriptor {
  return { mediaType: OCI_MANIFEST, digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: 100 + n, ...(platform ? { platform } : {}), ...(annotations ? { annotations } : {}) };
}

function index(...manifests: Descriptor[]): ImageIndex {
  return { kind: 'index', schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests };
}

const amd64 = entry(1, { os: 'linux', architecture: 'amd64' });
const arm64 = entry(2, { os: 'linux', architecture: 'arm64', variant: 'v8' });
const armv7 = entry(3, { os: 'linux', architecture: 'arm', variant: 'v7' });
const armv6 = entry(4, { os: 'linux', architecture: 'arm', variant: 'v6' });
const i386 = entry(5, { os: 'linux', architecture: '386' });
const attestation = entry(6, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd64.digest });
const windows = entry(7, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' });

describe('selectPlatformManifest', () => {
  it('picks the exact os/architecture', () => {
    const idx = index(attestation, amd64, arm64, armv7);
    expect(selectPlatformManifest(idx, { os: 'linux', architecture: 'amd64' })).toBe(amd64);
    expect(selectPlatformManifest(idx, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(armv7);
  });

  it('treats arm64 and arm64/v8 as the same platform, both ways', () => {
    const withoutVariant = entry(8, { os: 'linux', architecture: 'arm64' });
    expect(selectPlatformManifest(index(amd64, arm64), { os: 'linux', architecture: 'arm64' })).toBe(arm64);
    expect(selectPlatformManifest(index(amd64, withoutVariant), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(withoutVariant);
    expect(selectPlatformManifest(index(amd64, withoutVariant), { os: 'linux', architecture: 'aarch64' })).toBe(withoutVariant);
  });

  it('treats amd64 without variant as amd64/v1 and never picks a newer microarchitecture for it', () => {
    const v1 = entry(9, { os: 'linux', architecture: 'amd64', variant: 'v1' });
    const v3 = entry(10, { os: 'linux', architecture: 'amd64', variant: 'v3' });
    expect(selectPlatformManifest(index(v3, v1), { os: 'linux', architecture: 'amd64' })).toBe(v1);
    expect(selectPlatformManifest(index(v3), { os: 'linux', architecture: 'amd64' })).toBeNull();
    expect(selectPlatformManifest(index(amd64, v3), { os: 'linux', architecture: 'amd64', variant: 'v3' })).toBe(v3);
    expect(selectPlatformManifest(index(amd64), { os: 'linux', architecture: 'amd64', variant: 'v3' })).toBe(amd64);
  });

  it('falls back as containerd does: arm/v7 to v6, amd64 to 386, arm64 to 32-bit arm', () => {
    expect(selectPlatformManifest(index(amd64, armv6), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(armv6);
    expect(selectPlatformManifest(index(armv7, i386), { os: 'linux', architecture: 'amd64' })).toBe(i386);
    expect(selectPlatformManifest(index(amd64, armv6, armv7), { os: 'linux', architecture: 'arm64' })).toBe(armv7);
    expect(selectPlatformManifest(index(amd64, arm64, armv7), { os: 'linux', architecture: 'arm64' })).toBe(arm64);
    expect(selectPlatformManifest(index(armv6), { os: 'linux', architecture: 'arm', variant: 'v5' })).toBeNull();
  });

  it('prefers the best match over index order, and the first of equal matches', () => {
    const second = entry(11, { os: 'linux', architecture: 'amd64' });
    expect(selectPlatformManifest(index(i386, amd64, second), { os: 'linux', architecture: 'amd64' })).toBe(amd64);
  });

  it('skips attestation manifests and other operating systems', () => {
    expect(selectPlatformManifest(index(attestation, windows), { os: 'linux', architecture: 'amd64' })).toBeNull();
    expect(selectPlatformManifest(index(attestation, windows), { os: 'windows', architecture: 'amd64' })).toBe(windows);
    expect(isAttestationManifest(attestation)).toBe(true);
    expect(isAttestationManifest(amd64)).toBe(false);
  });

  it('takes an entry without platform only when nothing matches, and never a non-image entry', () => {
    const bare = entry(12);
    const artifact: Descriptor = { mediaType: 'application/vnd.example.thing+json', digest: `sha256:${'d'.repeat(64)}`, size: 3, platform: { os: 'linux', architecture: 'amd64' } };
    expect(selectPlatformManifest(index(bare, arm64), { os: 'linux', architecture: 'arm64' })).toBe(arm64);
    expect(selectPlatformManifest(index(bare, arm64), { os: 'linux', architecture: 'amd64' })).toBe(bare);
    expect(selectPlatformManifest(index(artifact), { os: 'linux', architecture: 'amd64' })).toBeNull();
  });
});

describe('compatiblePlatforms', () => {
  it('lists containerd’s vectors, best first', () => {
    const format = (ps: Platform[]): string[] => ps.map((p) => [p.architecture, p.variant].filter(Boolean).join('/'));
    expect(format(compatiblePlatforms({ os: 'linux', architecture: 'amd64', variant: 'v3' }))).toEqual(['amd64/v3', 'amd64/v2', 'amd64', '386']);
    expect(format(compatiblePlatforms({ os: 'linux', architecture: 'arm', variant: 'v7' }))).toEqual(['arm/v7', 'arm/v6', 'arm/v5']);
    expect(format(compatiblePlatforms({ os: 'linux', architecture: 'arm64' }))).toEqual(['arm64/v8', 'arm/v8', 'arm/v7', 'arm/v6', 'arm/v5']);
    expect(format(compatiblePlatforms({ os: 'linux', architecture: 'arm64', variant: 'v9' })).slice(0, 3)).toEqual(['arm64/v9', 'arm64/v8.5', 'arm64/v8.4']);
    expect(format(compatiblePlatforms({ os: 'linux', architecture: 's390x' }))).toEqual(['s390x']);
  });
});
