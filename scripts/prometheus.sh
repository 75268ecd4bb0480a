#!/usr/bin/env bash
# Makes sure Debian's Prometheus (2.42, PRW 1.0 sender) is installed; prints the path of its binary.
# `install-node-exporter` does the same for Debian's prometheus-node-exporter (used by `npm start`).
# Usage: scripts/prometheus.sh install | install-node-exporter
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"

find_prometheus() { first_executable "${PROMETHEUS_BIN:-}" /usr/bin/prometheus "$(command -v prometheus 2>/dev/null || true)"; }

install_node_exporter() {
  local bin=/usr/bin/prometheus-node-exporter
  [ -x "$bin" ] || apt_install prometheus-node-exporter
  echo "$bin"
}

install() {
  if find_prometheus >/dev/null; then find_prometheus; return 0; fi
  apt_install prometheus
  find_prometheus
}

case "${1:-}" in
  install) install ;;
  install-node-exporter) install_node_exporter ;;
  *) echo "usage: $0 install | install-node-exporter" >&2; exit 2 ;;
esac
