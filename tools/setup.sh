#!/usr/bin/env bash
# Create/refresh the project virtualenv (.venv) and install claim-corpus into it.
#   tools/setup.sh          runtime only (what `corpus` needs; used by tools/demo.sh)
#   tools/setup.sh dev      + the dev extra (tests, lint, types; used by tools/test.sh)
#   tools/setup.sh bench    + the dev and bench extras (tools/bench_*.py comparisons)
# Idempotent and quick when nothing changed (keyed on pyproject.toml and the extras asked for).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mode=${1:-runtime}
case "$mode" in
  runtime) spec="." ;;
  dev) spec=".[dev]" ;;
  bench) spec=".[dev,bench]" ;;
  *) echo "usage: tools/setup.sh [runtime|dev|bench]" >&2; exit 2 ;;
esac
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have_stamp() { [ "$(cat ".venv/.claim-corpus-$1" 2>/dev/null)" = "$want" ]; }
if have_stamp "$mode" || { [ "$mode" = runtime ] && { have_stamp dev || have_stamp bench; }; } \
   || { [ "$mode" = dev ] && have_stamp bench; }; then
  exit 0
fi
start=$(date +%s)
echo "setup: installing claim-corpus ($mode) into .venv; the first time this downloads" \
     "the dependencies (runtime ~1-3 min, dev ~3-6 min on a fresh machine)" >&2
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
# pip's own progress, one line per package; this machine's index warnings dropped
.venv/bin/python -m pip install --progress-bar off -e "$spec" 2>&1 \
  | grep --line-buffered -E '^(Collecting|Installing|Successfully|ERROR|error)' \
  | sed -u 's/^/setup: /' >&2 || true
if ! .venv/bin/python -c "import corpus.cli.main" 2>/dev/null; then
  echo "setup: installing claim-corpus failed; run: .venv/bin/python -m pip install -e '$spec'" >&2
  exit 1
fi
echo "$want" > ".venv/.claim-corpus-$mode"
echo "setup: done in $(( $(date +%s) - start )) s" >&2
