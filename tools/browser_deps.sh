#!/usr/bin/env bash
# Debian's Chromium and a CJK font for the browser test (no browser download).
# Installs them with apt when absent; does nothing when they are there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then
  exit 0
fi
if [ "${CORPUS_SKIP_BROWSER:-}" = "1" ]; then
  exit 0
fi
echo "setup: installing chromium and fonts-noto-cjk with apt (for the browser test)" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
