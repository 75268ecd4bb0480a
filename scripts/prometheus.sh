#!/usr/bin/env bash
# Makes sure Debian's Prometheus (2.42, PRW 1.0 sender) is installed; prints the path of its binary.
# `install-node-exporter` does the same for Debian's prometheus-node-exporter (used by `npm start`).
# Usage: scripts/prometheus.sh install | install-node-exporter
set -euo pipefail

find_prometheus() {
  for p in "${PROMETHEUS_BIN:-}" /usr/bin/prometheus "$(command -v prometheus 2>/dev/null || true)"; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

apt_install() { # $1 = package
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  echo "[prometheus.sh] installing Debian's $1 package" >&2
  # The package's service must not grab its port on machines with an init system; policy-rc.d 101 = "don't start".
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "$1" >&2; then
    $sudo apt-get update >&2
    $sudo apt-get install -y --no-install-recommends "$1" >&2
  fi
  [ -n "$created_policy" ] && $sudo rm -f "$policy"
  return 0
}

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
