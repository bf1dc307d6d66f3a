#!/usr/bin/env bash
# npm start: install what is missing, build if sources changed, then run the embedded supervisor
# (redis-server, gateway, builder, puller, gc) in the foreground. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$CARGOHOLD_ROOT"

bootstrap_require_node
bootstrap_system_packages "${CARGOHOLD_RUN_PACKAGES[@]}"
bootstrap_node_deps
bootstrap_build_if_stale
exec node dist/apps/embedded/src/main.js "$@"
