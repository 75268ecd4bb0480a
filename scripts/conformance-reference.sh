#!/usr/bin/env bash
# Runs promgate's conformance scripts (test/conformance/scripts/*.test) through Prometheus' own promqltest
# engine (Prometheus 3.5, pinned like scripts/prometheus3.sh), to check the expected values we wrote.
# `npm test` runs it after building Prometheus 3, so a wrong expectation fails CI. Prometheus compares values with a
# 1e-6 relative tolerance where promgate's runner is exact, so this checks semantics, the runner precision.
# Settings as in Prometheus' server defaults: experimental functions on, delayed name removal off.
# Usage: scripts/conformance-reference.sh [script.test ...]
#        PRINT=1 scripts/conformance-reference.sh script.test   prints Prometheus' exact answers instead, one
#        line per series in the scripts' notation (native histograms as {{…}}, range points in step order)
#        PROMETHEUS3_MODULE_VERSION=v0.316.0 …                   checks against Prometheus 3.16 instead
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${PROMETHEUS3_MODULE_VERSION:-v0.305.0}"
DIR="$ROOT/.cache/conformance-reference/$VERSION"
if [ $# -eq 0 ]; then set -- "$ROOT"/test/conformance/scripts/*.test; fi
# A script that needs a newer Prometheus names it in a comment (`# reference: v0.316.0`, the Go module version
# of Prometheus 3.16): without an explicit PROMETHEUS3_MODULE_VERSION, each group of scripts runs against its own.
if [ -z "${PROMETHEUS3_MODULE_VERSION:-}" ]; then
  declare -A groups=()
  for f in "$@"; do
    v=$(sed -n 's/^# reference: \(v[0-9.]*\)$/\1/p' "$f" | head -n1)
    groups[${v:-$VERSION}]+="$f"$'\n'
  done
  status=0
  for v in "${!groups[@]}"; do
    mapfile -t group < <(printf '%s' "${groups[$v]}")
    PROMETHEUS3_MODULE_VERSION="$v" bash "$0" "${group[@]}" || status=$?
  done
  exit "$status"
fi
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
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

func TestScripts(t *testing.T) {
	engine := promql.NewEngine(withExperimentalFunctions(promql.EngineOpts{
		MaxSamples:               50_000_000,
		Timeout:                  100 * time.Second,
		NoStepSubqueryIntervalFn: func(int64) int64 { return 60_000 },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		LookbackDelta:            5 * time.Minute,
		EnableDelayedNameRemoval: false,
	}))
	for _, file := range strings.Fields(os.Getenv("SCRIPTS")) {
		t.Run(file, func(t *testing.T) {
			content, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if os.Getenv("PRINT") != "" {
				printAnswers(t, file, string(content), engine)
				return
			}
			promqltest.RunTest(t, string(content), engine)
		})
	}
}

var (
	evalInstant = regexp.MustCompile(`^eval(?:_\w+)?\s+instant\s+(?:at\s+(\S+)\s+)?(.+)$`)
	evalRange   = regexp.MustCompile(`^eval(?:_\w+)?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$`)
)

func at(s string) time.Time {
	d, err := model.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return time.Unix(0, 0).UTC().Add(time.Duration(d))
}

// printAnswers prints Prometheus' exact answer to every eval of a script (PRINT=1), with full precision,
// for the values a script must state exactly.
func printAnswers(t *testing.T, file, content string, engine *promql.Engine) {
	for _, section := range regexp.MustCompile(`(?m)^clear$`).Split(content, -1) {
		var loads []string
		lines := strings.Split(section, "\n")
		for i := 0; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], "load") {
				for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
					loads = append(loads, lines[i])
				}
				loads = append(loads, "")
			}
		}
		st := promqltest.LoadedStorage(t, strings.Join(loads, "\n"))
		for _, line := range lines {
			var q promql.Query
			var err error
			var expr string
			if m := evalInstant.FindStringSubmatch(line); m != nil {
				ts := "0"
				if m[1] != "" {
					ts = m[1]
				}
				expr = m[2]
				q, err = engine.NewInstantQuery(context.Background(), st, nil, expr, at(ts))
			} else if m := evalRange.FindStringSubmatch(line); m != nil {
				step, _ := model.ParseDuration(m[3])
				expr = m[4]
				q, err = engine.NewRangeQuery(context.Background(), st, nil, expr, at(m[1]), at(m[2]), time.Duration(step))
			} else {
				continue
			}
			fmt.Printf("%s: %s\n", file[strings.LastIndex(file, "/")+1:], line)
			if err != nil {
				fmt.Printf("  error: %v\n", err)
				continue
			}
			res := q.Exec(context.Background())
			if res.Err != nil {
				fmt.Printf("  error: %v\n", res.Err)
			} else {
				printValue(res.Value)
			}
			// With the query, as the HTTP API writes them: the text ends in the position (line:column).
			w, i := res.Warnings.AsStrings(expr, 0, 0)
			for _, a := range append(w, i...) {
				fmt.Printf("  annotation: %s\n", a)
			}
			q.Close()
		}
		st.Close()
	}
}

// printValue writes a result as a script expects it: `labels value` per sample, a range series' points in
// time order (`_` where it has none), native histograms in promqltest's {{…}} notation.
func printValue(v parser.Value) {
	switch r := v.(type) {
	case promql.Scalar:
		fmt.Printf("  %s\n", strconv.FormatFloat(r.V, 'g', -1, 64))
	case promql.Vector:
		for _, s := range r {
			if s.H != nil {
				fmt.Printf("  %s %s\n", s.Metric, s.H.TestExpression())
			} else {
				fmt.Printf("  %s %s\n", s.Metric, strconv.FormatFloat(s.F, 'g', -1, 64))
			}
		}
	case promql.Matrix:
		for _, s := range r {
			points := map[int64]string{}
			var ts []int64
			for _, p := range s.Floats {
				points[p.T] = strconv.FormatFloat(p.F, 'g', -1, 64)
				ts = append(ts, p.T)
			}
			for _, p := range s.Histograms {
				points[p.T] = p.H.TestExpression()
				ts = append(ts, p.T)
			}
			sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
			var vals []string
			for _, t := range ts {
				vals = append(vals, fmt.Sprintf("%s@%d", points[t], t/1000))
			}
			fmt.Printf("  %s %s\n", s.Metric, strings.Join(vals, " "))
		}
	default:
		fmt.Printf("  %v\n", v)
	}
}
GO
# Experimental functions: a package flag up to Prometheus 3.5, a parser option (the engine's Parser) later.
module_dir="$(go env GOMODCACHE)/github.com/prometheus/prometheus@$VERSION"
if ! grep -q 'EnableExperimentalFunctions bool' "$module_dir/promql/parser/parse.go"; then
  cat > parser_setup_test.go <<'GO'
package reference

import (
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

func withExperimentalFunctions(o promql.EngineOpts) promql.EngineOpts {
	parser.EnableExperimentalFunctions = true
	return o
}
GO
else
  cat > parser_setup_test.go <<'GO'
package reference

import (
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

func withExperimentalFunctions(o promql.EngineOpts) promql.EngineOpts {
	o.Parser = parser.NewParser(parser.Options{EnableExperimentalFunctions: true})
	return o
}
GO
fi
go mod tidy >/dev/null 2>&1 || go mod tidy >&2
SCRIPTS="${files[*]}" go test -count=1 ${PRINT:+-v} ./... 2>&1
