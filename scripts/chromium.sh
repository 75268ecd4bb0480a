#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (for the status page's browser test, driven by playwright-core,
# which must never download a browser of its own); prints the path of its binary.
# Usage: scripts/chromium.sh install
set -euo pipefail

find_chromium() {
  for p in "${CHROMIUM_BIN:-}" /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

install() {
  if find_chromium >/dev/null; then find_chromium; return 0; fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  echo "[chromium.sh] installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends chromium >&2; then
    $sudo apt-get update >&2
    $sudo apt-get install -y --no-install-recommends chromium >&2
  fi
  find_chromium
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
