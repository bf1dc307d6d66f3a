import { InitialSchema1795827950356 } from './initial-schema.migration';
import { BuildCache1795950000000 } from './build-cache.migration';
import { RegistrySchema1795900000000 } from './registry-schema.migration';
import { Containers1796000000000 } from './containers.migration';
import { PruneSchedules1796100000000 } from './prune-schedules.migration';
import { GcSweep1796200000000 } from './gc-sweep.migration';
import { VerifiedLayers1796300000000 } from './verified-layers.migration';

/** Every migration, oldest first (explicit: no globs, so bundled output runs the same list). */
export const migrations = [InitialSchema1795827950356, RegistrySchema1795900000000, BuildCache1795950000000, Containers1796000000000, PruneSchedules1796100000000, GcSweep1796200000000, VerifiedLayers1796300000000];
