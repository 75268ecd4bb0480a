#!/usr/bin/env bash
# Checks promgate's remote_read encoders against Prometheus' own Go code (pinned module version): chunks,
# streamed frames and SAMPLES responses must be byte-identical to what Prometheus produces from the same
# samples (test/reference/remote-read/reference_test.go). Builds a throwaway module under .cache/ (the first
# run downloads the modules through the Go module proxy), writes the vectors with promgate's handler, runs
# `go test`. `npm test` runs it after building Prometheus 3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${REMOTE_READ_REFERENCE_VERSION:-v0.316.0}"
DIR="$ROOT/.cache/remote-read-reference/$VERSION"
command -v go >/dev/null || { echo "[remote-read-reference.sh] Go is required" >&2; exit 1; }
mkdir -p "$DIR"
cp "$ROOT/test/reference/remote-read/reference_test.go" "$DIR/"
cd "$DIR"
if [ ! -f go.sum ] || ! grep -q "prometheus/prometheus $VERSION" go.mod; then
  rm -f go.mod go.sum
  go mod init promgate-remote-read-reference >/dev/null 2>&1
  echo "[remote-read-reference.sh] fetching github.com/prometheus/prometheus@$VERSION (first time: a few minutes)" >&2
  go get "github.com/prometheus/prometheus@$VERSION" >&2
  go mod tidy >&2
fi
(cd "$ROOT" && node_modules/.bin/tsx test/reference/remote-read/vectors.ts "$DIR/vectors.json")
# -v for the summary line; each subtest's RUN/PASS line is left out.
VECTORS="$DIR/vectors.json" go test -count=1 -v . 2>&1 | grep -v -e '^=== RUN' -e '^=== NAME' -e '^    --- PASS'
exit "${PIPESTATUS[0]}"
