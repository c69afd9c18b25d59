#!/usr/bin/env bash
# Runs schemathesis (PyPI, pinned by SHA-256 in requirements.txt, installed into the git-ignored
# target/schemathesis/venv) against the OpenAPI document of a node that is already serving, as a client generated
# from the document would call it: `scripts/schemathesis/run.sh http://127.0.0.5:8080 [TOKEN]`. With a token, the
# requests carry it. Extra arguments after the token go to `st run` (e.g. `--max-examples 50`). Writes its reports
# (JUnit and NDJSON) under $SCHEMATHESIS_REPORTS (default target/schemathesis/report) and exits with schemathesis's
# status. The test command runs it against the demo federation and judges its NDJSON report (tests/schemathesis.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/schemathesis
out=target/schemathesis
base=${1:?usage: run.sh BASE_URL [TOKEN] [st run arguments]}
token=${2:-}
shift $(( $# >= 2 ? 2 : 1 ))
mkdir -p "$out"
if [ ! -x "$out/venv/bin/st" ] || [ "$here/requirements.txt" -nt "$out/venv/bin/st" ]; then
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$here/requirements.txt"
  touch "$out/venv/bin/st"
fi
auth=()
if [ -n "$token" ]; then
  auth=(-H "Authorization: Bearer $token")
fi
reports=$(realpath -m "${SCHEMATHESIS_REPORTS:-$out/report}")
# schemathesis keeps a cache of what it found in .schemathesis/ where it runs: under target/, not in the checkout.
cd "$out"
exec venv/bin/st run "$base/api/v1/openapi.json" "${auth[@]}" \
  --phases examples,fuzzing --workers 2 --generation-deterministic \
  --report junit,ndjson --report-dir "$reports" "$@"
