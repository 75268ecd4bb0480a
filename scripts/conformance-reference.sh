#!/usr/bin/env bash
# Runs promgate's conformance scripts (test/conformance/scripts/*.test) through Prometheus' own promqltest
# engine, to check the expected values we wrote: Prometheus 3.16 (the version promgate follows), and again
# Prometheus 3.5 for the scripts where both agree. `npm test` runs it, so a wrong expectation fails CI.
# Prometheus compares values with a 1e-6 relative tolerance where promgate's runner is exact, so this checks
# semantics, the runner precision. Settings as in Prometheus' server defaults: experimental functions on,
# delayed name removal off.
# A script says in a comment which engines it is checked by:
#   (nothing)              Prometheus 3.16, and Prometheus 3.5 too
#   # reference: v0.316.0  Prometheus 3.16 only (3.5 answers differently: wording, fixed bugs, newer features)
#   # reference: parse     parse errors: each `expect fail msg:` must be what 3.16's parser says (promqltest
#                          refuses a script whose query does not parse); an eval right after a comment
#                          `# not in Prometheus` is left out
# and which of Prometheus' PromQL feature flags it runs with (3.16; the parser's): by default
# promql-experimental-functions; a line `# prometheus features: a,b` names them all instead (`none`: none).
# and test/conformance/format-query.json holds queries with what 3.16's /api/v1/format_query answers.
# Usage: scripts/conformance-reference.sh [script.test ...]
#        PRINT=1 scripts/conformance-reference.sh script.test   prints Prometheus' exact answers instead, one
#        line per series in the scripts' notation (native histograms as {{…}}, range points in step order)
#        PROMETHEUS3_MODULE_VERSION=v0.305.0 …                  checks every script against that version only
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CURRENT=v0.316.0 # Prometheus 3.16
PREVIOUS=v0.305.0 # Prometheus 3.5 (LTS)
VERSION="${PROMETHEUS3_MODULE_VERSION:-$CURRENT}"
DIR="$ROOT/.cache/conformance-reference/$VERSION"
FORMAT_FILE="$ROOT/test/conformance/format-query.json"
explicit=$#
if [ $# -eq 0 ]; then set -- "$ROOT"/test/conformance/scripts/*.test; fi
marker() { sed -n 's/^# reference: \([a-z0-9.]*\).*$/\1/p' "$1" | head -n1; }
if [ -z "${PROMETHEUS3_MODULE_VERSION:-}" ]; then
  # 3.16 for everything; then 3.5 for the scripts that do not need 3.16 (and are not parse-error scripts).
  status=0
  FORMAT="$([ "$explicit" -eq 0 ] && echo "$FORMAT_FILE" || true)" PROMETHEUS3_MODULE_VERSION="$CURRENT" bash "$0" "$@" || status=$?
  previous=()
  for f in "$@"; do [ -z "$(marker "$f")" ] && previous+=("$f"); done
  if [ ${#previous[@]} -gt 0 ] && [ -z "${PRINT:-}" ]; then
    FORMAT="" PROMETHEUS3_MODULE_VERSION="$PREVIOUS" bash "$0" "${previous[@]}" || status=$?
  fi
  exit "$status"
fi
files=()
parse_files=()
for f in "$@"; do
  abs="$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
  if [ "$(marker "$f")" = parse ]; then parse_files+=("$abs"); else files+=("$abs"); fi
done
echo "Prometheus $VERSION: ${#files[@]} scripts, ${#parse_files[@]} parse-error scripts${FORMAT:+, $(basename "$FORMAT")}" >&2
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

var featuresLine = regexp.MustCompile(`(?m)^# prometheus features: (.*)$`)

// scriptFeatures: the feature flags a script names, or nil for the default.
func scriptFeatures(content string) []string {
	m := featuresLine.FindStringSubmatch(content)
	if m == nil {
		return nil
	}
	out := []string{}
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f != "" && f != "none" {
			out = append(out, f)
		}
	}
	return out
}

func TestScripts(t *testing.T) {
	for _, file := range strings.Fields(os.Getenv("SCRIPTS")) {
		t.Run(file, func(t *testing.T) {
			content, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			engine := promql.NewEngine(withFeatures(promql.EngineOpts{
				MaxSamples:               50_000_000,
				Timeout:                  100 * time.Second,
				NoStepSubqueryIntervalFn: func(int64) int64 { return 60_000 },
				EnableAtModifier:         true,
				EnableNegativeOffset:     true,
				LookbackDelta:            5 * time.Minute,
				EnableDelayedNameRemoval: false,
			}, scriptFeatures(string(content))))
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

func withFeatures(o promql.EngineOpts, _ []string) promql.EngineOpts {
	parser.EnableExperimentalFunctions = true
	return o
}

func parseExpr(q string, _ []string) (parser.Expr, error) {
	parser.EnableExperimentalFunctions = true
	return parser.ParseExpr(q)
}
GO
else
  cat > parser_setup_test.go <<'GO'
package reference

import (
	"slices"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// newParser: Prometheus' parser with the given feature flags (nil: experimental functions only, as the
// server with --enable-feature=promql-experimental-functions).
func newParser(features []string) parser.Parser {
	if features == nil {
		features = []string{"promql-experimental-functions"}
	}
	return parser.NewParser(parser.Options{
		EnableExperimentalFunctions: slices.Contains(features, "promql-experimental-functions"),
		EnableBinopFillModifiers:    slices.Contains(features, "promql-binop-fill-modifiers"),
	})
}

func withFeatures(o promql.EngineOpts, features []string) promql.EngineOpts {
	o.Parser = newParser(features)
	return o
}

func parseExpr(q string, features []string) (parser.Expr, error) { return newParser(features).ParseExpr(q) }
GO
fi
# Parse errors and format_query: what the HTTP API would answer, from the parser alone.
cat > parse_test.go <<'GO'
package reference

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

var (
	evalLine   = regexp.MustCompile(`^eval(?:_\w+)?\s+(?:instant(?:\s+at\s+\S+)?|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.+)$`)
	failLine   = regexp.MustCompile(`^\s+expect fail (msg|regex):\s*(.+)$`)
	notPromLine = regexp.MustCompile(`^# not in Prometheus`)
)

// TestParseErrors: each eval of a parse-error script fails to parse with the message it expects.
func TestParseErrors(t *testing.T) {
	for _, file := range strings.Fields(os.Getenv("PARSE_SCRIPTS")) {
		content, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		features := scriptFeatures(string(content))
		lines := strings.Split(string(content), "\n")
		for i, line := range lines {
			m := evalLine.FindStringSubmatch(line)
			if m == nil || (i > 0 && notPromLine.MatchString(lines[i-1])) {
				continue
			}
			want, kind := "", ""
			if i+1 < len(lines) {
				if f := failLine.FindStringSubmatch(lines[i+1]); f != nil {
					kind, want = f[1], strings.TrimSpace(f[2])
				}
			}
			expr, err := parseExpr(m[1], features)
			// A range query takes scalars and instant vectors only (the engine's NewRangeQuery says so).
			if err == nil && strings.HasPrefix(line, "eval range") && expr.Type() != parser.ValueTypeScalar && expr.Type() != parser.ValueTypeVector {
				err = fmt.Errorf("invalid expression type %q for range query, must be Scalar or instant Vector", parser.DocumentedType(expr.Type()))
			}
			switch {
			case want == "" && err != nil:
				t.Errorf("%s:%d %s: expected to parse, got %v", file, i+1, m[1], err)
			case want != "" && err == nil:
				t.Errorf("%s:%d %s: expected %q, parsed", file, i+1, m[1], want)
			case kind == "msg" && err.Error() != want, kind == "regex" && !regexp.MustCompile(want).MatchString(err.Error()):
				t.Errorf("%s:%d %s:\n  expected %s %s\n  got      %s", file, i+1, m[1], kind, want, err.Error())
			}
		}
	}
}

// TestFormatQuery: format-query.json's [query, answer] pairs, the answer being Pretty(0) or the parse error.
func TestFormatQuery(t *testing.T) {
	file := os.Getenv("FORMAT")
	if file == "" {
		return
	}
	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	if err := json.Unmarshal(content, &pairs); err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		expr, err := parseExpr(p[0], []string{"promql-experimental-functions", "promql-binop-fill-modifiers"})
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = expr.Pretty(0)
		}
		if got != p[1] {
			t.Errorf("format_query %q:\n  expected %q\n  got      %q", p[0], p[1], got)
		}
	}
}
GO
go mod tidy >/dev/null 2>&1 || go mod tidy >&2
SCRIPTS="${files[*]}" PARSE_SCRIPTS="${parse_files[*]}" FORMAT="${FORMAT:-}" go test -count=1 ${PRINT:+-v} ./... 2>&1
