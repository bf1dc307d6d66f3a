import { InitialSchema1795827950356 } from './initial-schema.migration';
import { RegistrySchema1795900000000 } from './registry-schema.migration';

/** Every migration, oldest first (explicit: no globs, so bundled output runs the same list). */
export const migrations = [InitialSchema1795827950356, RegistrySchema1795900000000];
