#!/usr/bin/env bash
# Runs every check and every test of Hifazat. CI runs exactly this (through .ci/run).
# Installs what the tests need from Debian's packages when missing (it runs as root in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need: iproute2 for the partition test's network namespaces, libxml2-utils for
# xmllint (CAP messages checked against the OASIS schema), kannel (bearerbox, smsbox) and kannel-extras
# (fakesmsc) for the SMS test, chromium for the browser test, python3-venv for the virtualenvs of dlib (the faces
# reference) and schemathesis (the OpenAPI fuzz test).
packages=(iproute2 libxml2-utils kannel kannel-extras chromium python3-venv)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

# The browser test's tools from npm, exactly as tests/browser/package-lock.json pins them, into the git-ignored
# tests/browser/node_modules; again whenever the lockfile is newer than what is installed.
if [ ! -d tests/browser/node_modules ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
  npm ci --prefix tests/browser --no-audit --no-fund
  touch tests/browser/node_modules
fi

# dlib itself, from PyPI, pinned by hash into a git-ignored virtualenv under target/faces, computes the reference
# the face network's port is tested against (crates/faces/tests/dlib.rs); again whenever its inputs change.
bash scripts/faces/reference.sh

echo "== format"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --release --locked
echo "== benchmarks compile"
cargo bench -p hifazat-bench --no-run --locked
# The peer benchmark's node scripts (bench/peers/README.md) are checked here and run only by bench/peers/run.sh.
echo "== peer benchmark scripts"
for script in bench/peers/*.mjs bench/peers/*.cjs; do
  node --check "$script"
done
bash -n bench/peers/run.sh
