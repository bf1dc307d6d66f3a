import type { ContainerConfig } from '@cargohold/oci';
import { applyToConfig, ConfigApplyError, configEnvLookup, type DispatchState, DockerfileSyntaxError, ExpansionError, expandInstruction, parseConfigChanges } from '@cargohold/dockerfile';
import { ImportChangeError } from './import.errors';

/**
 * Applies `docker import --change` / `docker commit --change` instructions to a container config
 * as dockerd does (`dockerfile.BuildFromConfig`): the changes are parsed together as Dockerfile
 * lines; only CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER,
 * VOLUME and WORKDIR are allowed; each is expanded against the Env as it stands before it.
 * Returns a new config; throws ImportChangeError with dockerd's text for anything it would refuse.
 */
export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  try {
    const { instructions, escape } = parseConfigChanges(changes);
    const state: DispatchState = { cmdSet: false };
    let next = structuredClone(config);
    for (const inst of instructions) next = applyToConfig(next, expandInstruction(inst, configEnvLookup(next.Env), escape), state).config;
    return next;
  } catch (err) {
    throw importChangeError(err);
  }
}

/** dockerd reports parse errors of changes without the Dockerfile line number. */
function importChangeError(err: unknown): unknown {
  if (err instanceof DockerfileSyntaxError) return new ImportChangeError(err.detail);
  if (err instanceof ExpansionError || err instanceof ConfigApplyError) return new ImportChangeError(err.message);
  return err;
}
