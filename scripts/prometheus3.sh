#!/usr/bin/env bash
# Builds the reference Prometheus 3.x for PromQL differential tests from the Go module proxy (pinned) and
# prints the path of the binary; promtool of the same version is built beside it. `go install …@version` refuses
# Prometheus' module (its go.mod has replace directives), so both are built inside a throwaway module under
# .cache/. Cached: a second run only prints.
# Usage: scripts/prometheus3.sh install
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# Prometheus 3.5 (LTS) is published as the Go module version v0.305.0.
VERSION="${PROMETHEUS3_MODULE_VERSION:-v0.305.0}"
DIR="$ROOT/.cache/prometheus3/$VERSION"
BIN="$DIR/prometheus"

install() {
  if [ -x "$BIN" ] && [ -x "$DIR/promtool" ]; then echo "$BIN"; return 0; fi
  command -v go >/dev/null || { echo "[prometheus3.sh] Go is required to build the reference Prometheus" >&2; exit 1; }
  mkdir -p "$DIR/build"
  cd "$DIR/build"
  [ -f go.mod ] || go mod init promgate-reference-prometheus >/dev/null 2>&1
  # promtool of the same version: the differential e2e's client (its --http.config.file carries credentials).
  for cmd in prometheus promtool; do
    [ -x "$DIR/$cmd" ] && continue
    echo "[prometheus3.sh] building $cmd $VERSION (first time: a few minutes)" >&2
    go get "github.com/prometheus/prometheus/cmd/$cmd@$VERSION" >&2
    CGO_ENABLED=0 go build -o "$DIR/$cmd.tmp" "github.com/prometheus/prometheus/cmd/$cmd" >&2
    mv "$DIR/$cmd.tmp" "$DIR/$cmd"
  done
  echo "$BIN"
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
