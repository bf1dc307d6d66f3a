import { afterAll, beforeAll } from 'vitest';
import type { TestRegistry } from '@cargohold/testing';
import { startRegistry } from '@cargohold/testing';
import { type ConformanceTarget, describeDistributionConformance } from './support/distribution-conformance';

/**
 * The distribution-spec conformance suite against the real CNCF registry (Debian's docker-registry 2.8),
 * which proves the suite encodes real registry behaviour before it is pointed at cargohold.
 */
let registry: TestRegistry | undefined;

beforeAll(async () => {
  registry = await startRegistry({ auth: 'none' });
});

afterAll(async () => {
  await registry?.stop();
});

const target: ConformanceTarget = {
  // A getter: the suite reads capabilities while registering tests, before beforeAll has started the registry.
  get url(): string {
    if (!registry) throw new Error('docker-registry is not running: beforeAll did not start it');
    return registry.url;
  },
  namespace: 'conformance',
  capabilities: {
    referrers: false,
    deleteManifests: true,
    deleteBlobs: true,
    ociSubjectHeader: false,
    // docker-registry 2.8 lists tags in storage order, ignores n/last on tags/list and ignores a PATCH's
    // Content-Range (appending instead of answering 416): all three break MUSTs of spec v1.1.
    sortedTagList: false,
    tagListPagination: false,
    chunkRangeChecks: false,
  },
};

describeDistributionConformance('OCI distribution-spec v1.1 conformance: docker-registry 2.8', () => target);
