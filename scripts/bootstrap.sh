# shellcheck shell=bash
# Sourced by scripts/start.sh and scripts/test.sh (both run with `set -euo pipefail`): gets a
# fresh checkout to the point where `node dist/...` works. Only defines functions and constants.
# Messages go to stderr so stdout stays for the service's own output.

CARGOHOLD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGOHOLD_MIN_NODE="20.19.0"
# What the integration and end-to-end tests drive (Debian package names).
CARGOHOLD_TEST_PACKAGES=(redis-server postgresql docker.io docker-registry skopeo umoci busybox-static docker-compose apache2-utils openssl attr runc)
# What `npm start` runs on: the embedded Redis, the builder's RUN sandbox (runc) and layer xattrs.
CARGOHOLD_RUN_PACKAGES=(redis-server runc attr)
# Filled by bootstrap_system_packages with what it had to install.
CARGOHOLD_INSTALLED_PACKAGES=()

bootstrap_log() { printf 'bootstrap: %s\n' "$*" >&2; }
bootstrap_die() {
  printf 'bootstrap: %s\n' "$*" >&2
  exit 1
}

bootstrap_require_node() {
  command -v node >/dev/null 2>&1 || bootstrap_die "node not found: install Node.js >= ${CARGOHOLD_MIN_NODE} and retry"
  command -v npm >/dev/null 2>&1 || bootstrap_die "npm not found: it ships with Node.js; reinstall Node.js >= ${CARGOHOLD_MIN_NODE}"
  node -e '
    const want = process.argv[1].split(".").map(Number);
    const have = process.versions.node.split(".").map(Number);
    for (let i = 0; i < 3; i++) if (have[i] !== want[i]) process.exit(have[i] > want[i] ? 0 : 1);
  ' "$CARGOHOLD_MIN_NODE" || bootstrap_die "Node.js $(node --version) is too old: cargohold needs >= ${CARGOHOLD_MIN_NODE}"
}

bootstrap_is_debian() {
  [[ -r /etc/debian_version ]] && command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1
}

# A command each package provides, to judge presence where dpkg is not the package manager.
bootstrap_package_command() {
  case "$1" in
    postgresql) echo pg_ctl ;;
    docker.io) echo dockerd ;;
    busybox-static) echo busybox ;;
    apache2-utils) echo htpasswd ;;
    attr) echo getfattr ;;
    *) echo "$1" ;;
  esac
}

# Prints which of the given packages are missing.
bootstrap_missing_packages() {
  local pkg
  for pkg in "$@"; do
    if bootstrap_is_debian; then
      [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || echo "$pkg"
    else
      command -v "$(bootstrap_package_command "$pkg")" >/dev/null 2>&1 || echo "$pkg"
    fi
  done
}

# Installs the given packages (default: the test tool chain) on Debian as root; elsewhere says
# exactly what is missing.
bootstrap_system_packages() {
  local missing
  (($# > 0)) || set -- "${CARGOHOLD_TEST_PACKAGES[@]}"
  mapfile -t missing < <(bootstrap_missing_packages "$@")
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if ! bootstrap_is_debian || [[ "$(id -u)" -ne 0 ]]; then
    bootstrap_die "missing system packages: ${missing[*]} (on Debian, as root: apt-get install -y --no-install-recommends ${missing[*]})"
  fi
  bootstrap_log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  CARGOHOLD_INSTALLED_PACKAGES=("${missing[@]}")
}

bootstrap_cache_dir() {
  if [[ -n "${XDG_CACHE_HOME:-}" ]]; then
    echo "${XDG_CACHE_HOME}/cargohold"
  elif mkdir -p /var/cache/cargohold 2>/dev/null && [[ -w /var/cache/cargohold ]]; then
    echo /var/cache/cargohold
  else
    echo "${HOME:-/tmp}/.cache/cargohold"
  fi
}

# node_modules holds a compiled better-sqlite3, so the cache key covers the lock file and the
# Node ABI / platform it was built for.
bootstrap_deps_key() {
  local lock_sha
  lock_sha="$(sha256sum "${CARGOHOLD_ROOT}/package-lock.json" | cut -d' ' -f1)"
  echo "${lock_sha}-$(node -p 'process.platform + "-" + process.arch + "-abi" + process.versions.modules')"
}

bootstrap_node_deps() {
  local root="$CARGOHOLD_ROOT" stamp="$CARGOHOLD_ROOT/node_modules/.cargohold-deps-key" key
  [[ -f "$root/package-lock.json" ]] || bootstrap_die "package-lock.json is missing in $root"
  if [[ -d "$root/node_modules" && ! "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]]; then
    return 0
  fi
  key="$(bootstrap_deps_key)"
  # A newer mtime alone (fresh checkout, git switch) is not a change if the lock hash matches.
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
    touch "$root/node_modules/.package-lock.json"
    return 0
  fi

  local cache_dir compress decompress ext archive
  cache_dir="$(bootstrap_cache_dir)"
  if command -v zstd >/dev/null 2>&1; then
    compress=(zstd -T0 -3 -q) decompress=(zstd -dcq) ext=tar.zst
  else
    compress=(gzip -1) decompress=(gzip -dc) ext=tar.gz
  fi
  archive="${cache_dir}/node_modules-${key}.${ext}"

  if [[ -f "$archive" ]]; then
    bootstrap_log "restoring node_modules from ${archive}"
    rm -rf "$root/node_modules"
    if "${decompress[@]}" "$archive" | tar -xf - -C "$root"; then
      echo "$key" >"$stamp"
      touch "$root/node_modules/.package-lock.json"
      return 0
    fi
    bootstrap_log "cached archive is unreadable; removing it and installing afresh"
    rm -f "$archive"
  fi

  bootstrap_log "installing node dependencies (npm ci; better-sqlite3 may compile for a minute or two)"
  (cd "$root" && npm ci --no-audit --no-fund >&2)
  echo "$key" >"$stamp"
  touch "$root/node_modules/.package-lock.json"

  # Cache for the next fresh checkout; a failure here only costs the next run time.
  if mkdir -p "$cache_dir" 2>/dev/null; then
    local tmp="${archive}.tmp.$$"
    if tar -cf - -C "$root" node_modules | "${compress[@]}" >"$tmp"; then
      mv -f "$tmp" "$archive"
      bootstrap_log "cached node_modules as ${archive}"
      # Keep the three newest archives.
      find "$cache_dir" -maxdepth 1 -name 'node_modules-*.tar.*' ! -name '*.tmp.*' -printf '%T@ %p\n' | sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -f
    else
      rm -f "$tmp"
      bootstrap_log "could not write the node_modules cache in ${cache_dir} (continuing)"
    fi
  fi
}

# True when dist/ is missing or anything that goes into it changed since the last build.
# Directories are compared too: adding or deleting a file changes its directory's mtime.
bootstrap_dist_stale() {
  local root="$CARGOHOLD_ROOT" stamp="$CARGOHOLD_ROOT/dist/.cargohold-built"
  [[ -f "$stamp" ]] || return 0
  [[ -n "$(find "$root/apps" "$root/libs" "$root/scripts/build.mjs" "$root/tsconfig.base.json" "$root/package-lock.json" \
    -newer "$stamp" -not -path '*/node_modules/*' -print -quit 2>/dev/null)" ]]
}

bootstrap_build() {
  bootstrap_log "building dist/"
  (cd "$CARGOHOLD_ROOT" && node scripts/build.mjs >&2)
  touch "$CARGOHOLD_ROOT/dist/.cargohold-built"
}

bootstrap_build_if_stale() {
  if bootstrap_dist_stale; then bootstrap_build; fi
}
