#!/usr/bin/env bash
# The peer benchmark (bench/peers/README.md): installs the systems Hifazat is measured beside, builds Hifazat, runs
# each system in turn on loopback and writes the table to standard output and target/peers/table.md.
#   bash bench/peers/run.sh                      every system, full counts (about 20 minutes)
#   bash bench/peers/run.sh -- hifazat postgres  only these (hifazat, couchdb, couchdb-synced, automerge, postgres)
#   bash bench/peers/run.sh -- --quick           a tenth of every count: a trial, not a figure
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${1:-}" = "--" ] && shift

# From Debian's packages when missing (as root): PostgreSQL 15 (its package starts a cluster of its own on
# localhost, which this leaves alone: the benchmark's clusters listen on 127.0.0.153 and .154 only), strace (syncs
# per write), taskset (util-linux: each node on its own core), node and npm (the npm peers).
need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v strace >/dev/null || need+=(strace)
command -v taskset >/dev/null || need+=(util-linux)
command -v npm >/dev/null || need+=(nodejs npm)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: missing ${need[*]}; install them (apt-get install) or run this as root" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

# The npm peers, as bench/peers/package-lock.json pins them, into the git-ignored bench/peers/node_modules; again
# whenever the lockfile is newer than what is installed. `npm install --no-save` and not `npm ci`: the lockfile has
# no entries for cbor-extract's optional native builds, which the registry does not serve, and `npm ci` refuses a
# lockfile without them (automerge's websocket network then encodes with cbor-x's JavaScript, as it does wherever
# the native build is missing).
if [ ! -d bench/peers/node_modules ] || [ bench/peers/package-lock.json -nt bench/peers/node_modules ]; then
  npm install --prefix bench/peers --no-save --no-audit --no-fund
  touch bench/peers/node_modules
fi

cargo build --release --locked --bin hifazat
cargo bench -p hifazat-bench --bench peers --locked -- "$@"
