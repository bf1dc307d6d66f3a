#!/usr/bin/env bash
# npm test: the whole gate, as CI runs it. Installs what is missing, makes sure PostgreSQL and
# Redis answer on loopback, then runs each step in order and stops at the first failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$CARGOHOLD_ROOT"

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_HOST=127.0.0.1 REDIS_PORT=6379

test_log() { printf 'test: %s\n' "$*" >&2; }

# Polls "$@" for up to $1 seconds.
wait_for() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

postgres_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
redis_up() { [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

ensure_postgres() {
  local version=""
  if [[ -d /etc/postgresql ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  fi
  # A cluster created by this run's apt-get belongs to nobody else: give loopback trust auth,
  # which the tests expect (user postgres, no password), as on the CI machines.
  if [[ -n "$version" && " ${CARGOHOLD_INSTALLED_PACKAGES[*]} " == *" postgresql "* ]]; then
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "/etc/postgresql/${version}/main/pg_hba.conf"
    if postgres_up; then pg_ctlcluster --skip-systemctl-redirect "$version" main reload >&2; fi
  fi
  postgres_up && return 0
  [[ -n "$version" ]] || bootstrap_die "PostgreSQL is not answering on ${PG_HOST}:${PG_PORT} and no Debian cluster was found to start"
  test_log "starting PostgreSQL ${version}"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 ||
    bootstrap_die "could not start PostgreSQL ${version} (pg_ctlcluster ${version} main start); see /var/log/postgresql/"
  wait_for 30 postgres_up || bootstrap_die "PostgreSQL ${version} started but does not answer on ${PG_HOST}:${PG_PORT}"
}

ensure_redis() {
  redis_up && return 0
  test_log "starting redis-server on ${REDIS_HOST}:${REDIS_PORT}"
  redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save '' --appendonly no >&2 ||
    bootstrap_die "could not start redis-server on ${REDIS_HOST}:${REDIS_PORT}"
  wait_for 15 redis_up || bootstrap_die "redis-server does not answer on ${REDIS_HOST}:${REDIS_PORT}"
}

# Fail early with the fix rather than with a hundred failing tests.
check_postgres_login() {
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1 ||
    bootstrap_die "PostgreSQL at ${PG_HOST}:${PG_PORT} refuses user postgres without a password; the tests need trust auth on loopback ('host all all 127.0.0.1/32 trust' in pg_hba.conf) or CARGOHOLD_TEST_PG_URL"
}


started_at=$SECONDS
passed=()

run_step() {
  local name="$1"
  shift
  local began=$SECONDS status=0
  printf '\n=== %s: %s\n' "$name" "$*"
  "$@" || status=$?
  if ((status != 0)); then
    printf '\nnpm test: FAILED at %s (exit %d) after %ds; passed: %s\n' "$name" "$status" $((SECONDS - started_at)) "${passed[*]:-none}"
    exit "$status"
  fi
  passed+=("${name}($((SECONDS - began))s)")
}

bootstrap_require_node
bootstrap_system_packages
bootstrap_node_deps
ensure_postgres
ensure_redis
[[ -n "${CARGOHOLD_TEST_PG_URL:-}" ]] || check_postgres_login

# vitest prints its own "Test Files … / Tests …" summary on stdout; nothing here filters it.
run_step typecheck npm run --silent typecheck
run_step lint npm run --silent lint
run_step build bootstrap_build
run_step unit npx --no-install vitest run --project unit
run_step integration npx --no-install vitest run --project integration
run_step e2e npx --no-install vitest run --project e2e

printf '\nnpm test: PASSED %s in %ds\n' "${passed[*]}" $((SECONDS - started_at))
