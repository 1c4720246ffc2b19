#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the ledger's store tests (tests/ledger/store_test.cc).
#   tools/pg-test-server.sh start   # prints postgres://postgres@127.0.0.1:PORT/switchyard_test
#   tools/pg-test-server.sh url     # prints the URL of the running server (fails if none)
#   tools/pg-test-server.sh stop    # stops the server and deletes its data
# The cluster lives in a temp directory (trust auth, 127.0.0.1 only, fsync off: test data only)
# and is owned by the `postgres` user when run as root. `start` is idempotent: a running server
# is reused. As root on Debian it installs the `postgresql` package when initdb is missing.
# SY_PG_TEST_STATE names the state file (default: one per checkout), so that parallel runs can
# keep separate servers; `make test` uses one per invocation.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
pg_bin="${SY_PG_BIN:-/usr/lib/postgresql/15/bin}"
db=switchyard_test
checkout="$(printf %s "$root" | md5sum | cut -c1-8)"
state="${SY_PG_TEST_STATE:-/tmp/switchyard-pg-test-$(id -u)-$checkout.state}"

log() { echo "pg-test-server: $*" >&2; }

# Runs a PostgreSQL binary as the cluster's owner: `postgres` as root (PostgreSQL refuses to
# run as root), otherwise the current user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ensure_installed() {
  if [ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ]; then
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL 15 is not installed ($pg_bin/initdb missing); install it with:"
    log "  sudo apt-get update && sudo apt-get install -y postgresql"
    exit 1
  fi
  log "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y --no-install-recommends -qq postgresql >/dev/null
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

url_of() { echo "postgres://postgres@127.0.0.1:$1/$db"; }

# Reads DIR and PORT from the state file; false when there is none.
read_state() {
  [ -f "$state" ] || return 1
  dir="$(sed -n 1p "$state")"
  port="$(sed -n 2p "$state")"
  [ -n "$dir" ] && [ -n "$port" ]
}

running() { as_owner "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

stop() {
  if ! read_state; then
    return 0
  fi
  if [ -d "$dir/data" ] && running; then
    as_owner "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  case "$dir" in
    /tmp/switchyard-pg.*) rm -rf "$dir" ;;  # only ever a directory this script created
  esac
  rm -f "$state"
}

start() {
  if read_state && [ -d "$dir/data" ] && running; then
    url_of "$port"
    return 0
  fi
  stop  # a stale state file or a dead server: start over
  ensure_installed
  for attempt in 1 2 3 4 5; do
    port=$((54330 + RANDOM % 1000))
    port_free "$port" || continue
    dir="$(mktemp -d /tmp/switchyard-pg.XXXXXX)"
    chmod 700 "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres:postgres "$dir"
    fi
    printf '%s\n%s\n' "$dir" "$port" >"$state"
    as_owner "$pg_bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C -N \
      >"$dir/initdb.log" 2>&1 || { log "initdb failed:"; cat "$dir/initdb.log" >&2; stop; exit 1; }
    if as_owner "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c fsync=off" start >/dev/null; then
      as_owner "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
      log "PostgreSQL running in $dir (attempt $attempt)"
      url_of "$port"
      return 0
    fi
    log "could not start on port $port (attempt $attempt):"
    tail -n 5 "$dir/server.log" >&2 || true
    stop
  done
  log "giving up"
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url)
    if read_state && [ -d "$dir/data" ] && running; then
      url_of "$port"
    else
      log "not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
