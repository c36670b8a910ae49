#!/usr/bin/env bash
# The main job on the seed article: set up .venv, start the embedded Label Studio,
# ingest + split seeds/, push project "claims", print the URL, login and next steps.
# Safe to run again: nothing is imported twice.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh
exec .venv/bin/corpus up seeds/ --project "${CORPUS_PROJECT:-claims}" \
  --targets-file seeds/targets.yaml "$@"
