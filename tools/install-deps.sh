#!/usr/bin/env bash
# Installs the Debian 12 packages Switchyard needs, only those missing.
#   tools/install-deps.sh run     # to build and run the gateway
#   tools/install-deps.sh test    # + what the tests need (GoogleTest, Node.js for the SDK tests,
#                                 #   PostgreSQL for tools/pg-test-server.sh)
#   tools/install-deps.sh bench   # + what the benchmarks need (nginx, wrk, Google Benchmark)
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

profile="${1:-run}"
pkgs=(g++ cmake ninja-build make pkg-config ca-certificates
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
      libssl-dev libyaml-cpp-dev libspdlog-dev libcli11-dev libsqlite3-dev libpq-dev)
case "$profile" in
  run) ;;
  test) pkgs+=(googletest libgtest-dev libgmock-dev postgresql sqlite3) ;;  # postgresql: ledger store tests; sqlite3: tests/e2e/ledger.test.mjs reads usage_records
  bench) pkgs+=(libbenchmark-dev nginx-light wrk util-linux git) ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js (>= 18) and npm run the official SDKs in the end-to-end tests. Any install will do
# (Debian's nodejs/npm, or NodeSource's); only install Debian's when none is present.
if [ "$profile" = test ] && ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "Installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd -qq >/dev/null
