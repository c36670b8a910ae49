#!/usr/bin/env bash
# The whole test suite: lint, types, tests. Installs what it needs (see tools/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh dev
./tools/browser_deps.sh
echo "== ruff" >&2
.venv/bin/ruff check corpus tests tools
echo "== mypy" >&2
.venv/bin/mypy
echo "== pytest" >&2
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
