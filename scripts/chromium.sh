#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (for the status page's browser test, driven by playwright-core,
# which must never download a browser of its own); prints the path of its binary.
# Usage: scripts/chromium.sh install
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"

find_chromium() { first_executable "${CHROMIUM_BIN:-}" /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; }

install() {
  if find_chromium >/dev/null; then find_chromium; return 0; fi
  apt_install chromium
  find_chromium
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
