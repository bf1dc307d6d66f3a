import type { Descriptor, ImageIndex, Platform } from '@cargohold/oci';
import { IMAGE_INDEX_MEDIA_TYPES, IMAGE_MANIFEST_MEDIA_TYPES, normalizePlatform, platformMatches } from '@cargohold/oci';

const REFERENCE_TYPE_ANNOTATION = 'vnd.docker.reference.type';
const ATTESTATION_MANIFEST = 'attestation-manifest';

/** containerd's arm64 variant table: which arm64 versions (newest first) a CPU of each variant runs. */
const ARM64_VERSIONS: Readonly<Record<string, ReadonlyArray<readonly [major: number, newestMinor: number]>>> = {
  v8: [[8, 0]], 'v8.1': [[8, 1]], 'v8.2': [[8, 2]], 'v8.3': [[8, 3]], 'v8.4': [[8, 4]],
  'v8.5': [[8, 5]], 'v8.6': [[8, 6]], 'v8.7': [[8, 7]], 'v8.8': [[8, 8]], 'v8.9': [[8, 9]],
  v9: [[9, 0], [8, 5]], 'v9.1': [[9, 1], [8, 6]], 'v9.2': [[9, 2], [8, 7]], 'v9.3': [[9, 3], [8, 8]],
  'v9.4': [[9, 4], [8, 9]], 'v9.5': [[9, 5], [8, 9]], 'v9.6': [[9, 6], [8, 9]], 'v9.7': [[9, 7], [8, 9]],
};

/**
 * The platforms a machine of `want` runs, best first: containerd's `platforms.Only` vector,
 * which dockerd uses to filter manifest lists (amd64/vN runs vN…v1 and 386; arm/vN runs
 * vN…v5; arm64/vX runs lower arm64 versions and 32-bit arm/v8…v5).
 */
export function compatiblePlatforms(want: Platform): Platform[] {
  const p = normalizePlatform(want);
  const same = (architecture: string, variant?: string): Platform =>
    normalizePlatform({ ...p, architecture, ...(variant ? { variant } : { variant: undefined }) });
  switch (p.architecture) {
    case 'amd64': {
      const version = p.variant ? Number(p.variant.replace(/^v/, '')) : 1;
      const out: Platform[] = [p];
      if (Number.isInteger(version)) for (let v = version - 1; v >= 1; v--) out.push(same('amd64', `v${v}`));
      out.push(same('386'));
      return out;
    }
    case 'arm':
      return armVector(p, same);
    case 'arm64': {
      const versions = ARM64_VERSIONS[p.variant ?? 'v8'];
      if (!versions) return [p];
      const out: Platform[] = [];
      for (const [major, newestMinor] of versions) {
        for (let minor = newestMinor; minor >= 0; minor--) out.push(same('arm64', minor === 0 ? `v${major}` : `v${major}.${minor}`));
      }
      return [...out, ...armVector(same('arm', 'v8'), same)];
    }
    default:
      return [p];
  }
}

function armVector(p: Platform, same: (architecture: string, variant?: string) => Platform): Platform[] {
  const out: Platform[] = [p];
  const version = Number((p.variant ?? '').replace(/^v/, ''));
  if (Number.isInteger(version)) for (let v = version - 1; v >= 5; v--) out.push(same('arm', `v${v}`));
  return out;
}

/** True for BuildKit's provenance / SBOM entries (`vnd.docker.reference.type: attestation-manifest`). */
export function isAttestationManifest(descriptor: Descriptor): boolean {
  return descriptor.annotations?.[REFERENCE_TYPE_ANNOTATION] === ATTESTATION_MANIFEST;
}

/**
 * The index entry to pull for `want`, as dockerd picks it: the best match in
 * compatiblePlatforms(want) order, ties going to the earlier entry; entries without a platform
 * only as a last resort; attestation manifests and non-image entries never. Null when nothing fits.
 */
export function selectPlatformManifest(index: ImageIndex, want: Platform): Descriptor | null {
  const candidates = compatiblePlatforms(want);
  let best: { rank: number; descriptor: Descriptor } | null = null;
  for (const descriptor of index.manifests) {
    if (isAttestationManifest(descriptor)) continue;
    if (!IMAGE_MANIFEST_MEDIA_TYPES.includes(descriptor.mediaType) && !IMAGE_INDEX_MEDIA_TYPES.includes(descriptor.mediaType)) continue;
    const platform = descriptor.platform;
    const rank = platform ? candidates.findIndex((candidate) => platformMatches(candidate, platform)) : candidates.length;
    if (rank < 0) continue;
    if (best === null || rank < best.rank) best = { rank, descriptor };
  }
  return best?.descriptor ?? null;
}
