import { startSystem, type SystemHandle } from '@cargohold/testing';
import { describeDistributionConformance } from './support/distribution-conformance';

// The distribution-spec v1.1 conformance suite against cargohold's own registry API.
let system: SystemHandle;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

describeDistributionConformance('cargohold registry API', () => ({
  get url() {
    return system.url;
  },
  namespace: 'conformance',
  capabilities: {
    referrers: true,
    deleteManifests: true,
    deleteBlobs: true,
    ociSubjectHeader: true,
    sortedTagList: true,
    tagListPagination: true,
    chunkRangeChecks: true,
    catalog: true,
  },
}));
