#!/usr/bin/env bash
# Local Label Studio for development and fast test runs.
#
#   tools/ls_local.sh start    # start (or reuse) the dev server, print the export line
#   tools/ls_local.sh status
#   tools/ls_local.sh stop
#
# With CORPUS_TEST_LS_WORKSPACE exported, pytest's `ls_server` fixture reuses this
# server instead of starting (and stopping) its own.
set -euo pipefail
cd "$(dirname "$0")/.."
WS="${CORPUS_TEST_LS_WORKSPACE:-${XDG_CACHE_HOME:-$HOME/.cache}/claim-corpus/dev-workspace}"
cmd="${1:-start}"
rc=0
.venv/bin/python -c 'import sys; from corpus.cli.main import main; sys.argv[0] = "corpus"; main()' \
    server "$cmd" --workspace "$WS" || rc=$?
if [ "$cmd" = start ] && [ "$rc" = 0 ]; then
    echo "export CORPUS_TEST_LS_WORKSPACE=$WS"
fi
exit "$rc"
