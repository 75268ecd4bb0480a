#!/usr/bin/env bash
# Runs promgate's conformance scripts (test/conformance/scripts/*.test) through Prometheus' own promqltest
# engine (Prometheus 3.5, pinned like scripts/prometheus3.sh), to check the expected values we wrote.
# Not part of `npm test`: a tool for whoever writes or changes a script. Prometheus compares values with a
# 1e-6 relative tolerance where promgate's runner is exact, so this checks semantics, the runner precision.
# Settings as in Prometheus' server defaults: experimental functions on, delayed name removal off.
# Usage: scripts/conformance-reference.sh [script.test ...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${PROMETHEUS3_MODULE_VERSION:-v0.305.0}"
DIR="$ROOT/.cache/conformance-reference/$VERSION"
if [ $# -eq 0 ]; then set -- "$ROOT"/test/conformance/scripts/*.test; fi
files=()
for f in "$@"; do
  # Scripts of parse errors cannot run there (promqltest parses every query when it reads the script).
  if grep -q '^# reference: skip' "$f"; then echo "skipping $f" >&2; continue; fi
  files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")")
done
mkdir -p "$DIR"
cd "$DIR"
if [ ! -f go.mod ]; then
  go mod init promgate-conformance-reference >/dev/null 2>&1
  go get "github.com/prometheus/prometheus@$VERSION" >&2
fi
cat > reference_test.go <<'GO'
package reference

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

func TestScripts(t *testing.T) {
	parser.EnableExperimentalFunctions = true
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples:               50_000_000,
		Timeout:                  100 * time.Second,
		NoStepSubqueryIntervalFn: func(int64) int64 { return 60_000 },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		LookbackDelta:            5 * time.Minute,
		EnableDelayedNameRemoval: false,
	})
	for _, file := range strings.Fields(os.Getenv("SCRIPTS")) {
		t.Run(file, func(t *testing.T) {
			content, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			promqltest.RunTest(t, string(content), engine)
		})
	}
}
GO
go mod tidy >/dev/null 2>&1 || go mod tidy >&2
SCRIPTS="${files[*]}" go test -count=1 ./... 2>&1
