#!/usr/bin/env bash
# `npm test`: everything, on a fresh machine too. Installs what is missing (npm packages, Elasticsearch via
# mvn, Debian's prometheus and prometheus-node-exporter, Prometheus 3 and promtool 3 via go), then runs
# typecheck → unit → integration (real ES) → checks against Prometheus' own Go code → e2e (real Prometheus →
# promgate under wrangler dev → real ES).
# Stops what it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Each suite also writes a JSON report; the last line of the run adds them up.
results=.cache/test-results
rm -rf "$results" && mkdir -p "$results"
vt() { local suite=$1; shift; npx vitest run "$@" --reporter=default --reporter=json --outputFile="$results/$suite.json"; }

step "npm packages"
if [ ! -x node_modules/.bin/vitest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: the lock file holds only this platform's optional binaries (buf, workerd), which npm ci refuses
  npm install --no-audit --no-fund
fi
# The status page's browser files as a module (also run by postinstall; node_modules may predate it).
node scripts/gen-assets.mjs

step "typecheck"
npm run --silent typecheck

step "unit tests"
vt unit --project unit

step "Workers bundle (wrangler deploy --dry-run)"
bundle_dir=.cache/wrangler-dry-run
rm -rf "$bundle_dir"
WRANGLER_SEND_METRICS=false node node_modules/wrangler/bin/wrangler.js deploy --dry-run --outdir "$bundle_dir" 2>&1 | grep -E "Total Upload" \
  || { echo "wrangler deploy --dry-run failed" >&2; exit 1; }
# Env for src/index.ts comes from `wrangler types`: regenerate and compare (its --check compares a hash only).
cp worker-configuration.d.ts "$bundle_dir/committed-worker-configuration.d.ts"
WRANGLER_SEND_METRICS=false npm run --silent types:worker >/dev/null
cmp -s worker-configuration.d.ts "$bundle_dir/committed-worker-configuration.d.ts" \
  || { echo "worker-configuration.d.ts was out of date with wrangler.toml (now regenerated: commit it)" >&2; exit 1; }

step "workers tests (the app inside workerd)"
vt workers --config vitest.workers.config.ts

step "Elasticsearch (scripts/elasticsearch.sh, on a free port)"
es_out=$(ES_PORT=free bash scripts/elasticsearch.sh start)
ES_URL=$(printf '%s\n' "$es_out" | grep '^ES_URL=' | tail -n1 | cut -d= -f2-)
[ -n "$ES_URL" ] || { echo "elasticsearch.sh did not report ES_URL" >&2; exit 1; }
ES_PORT=${ES_URL##*:}
cleanup() { ES_PORT=$ES_PORT bash scripts/elasticsearch.sh stop || true; }
trap cleanup EXIT
export ES_URL ES_USERNAME=elastic ES_PASSWORD="${ES_PASSWORD:-promgate-dev}"

step "promgate setup (as the administrator), and promgate's own least-privileged credential"
# promgate itself never runs as elastic (scripts/lib/gate-credential.sh).
source scripts/lib/gate-credential.sh
gate_credential "$ES_PORT"

step "integration tests (real Elasticsearch at $ES_URL)"
vt integration --project integration

step "runtime tests (Node, Bun, Deno, workerd over HTTP)"
vt runtimes --project runtimes

step "Chromium (Debian package) and the status page in a real browser"
CHROMIUM_BIN=$(bash scripts/chromium.sh install)
export CHROMIUM_BIN
vt browser --project browser

step "Prometheus (Debian package)"
PROMETHEUS_BIN=$(bash scripts/prometheus.sh install)
export PROMETHEUS_BIN
"$PROMETHEUS_BIN" --version 2>&1 | head -n1

step "node_exporter (Debian package; the differential e2e scrapes it)"
NODE_EXPORTER_BIN=$(bash scripts/prometheus.sh install-node-exporter)
export NODE_EXPORTER_BIN

step "Prometheus 3 and promtool 3 (reference PromQL engine and client, built from the Go module proxy)"
PROMETHEUS3_BIN=$(bash scripts/prometheus3.sh install)
export PROMETHEUS3_BIN
"$PROMETHEUS3_BIN" --version 2>&1 | head -n1

step "Prometheus 3.16 (remote write 2.0 and native histogram sender and reference, built from the Go module proxy)"
PROMETHEUS316_BIN=$(PROMETHEUS3_MODULE_VERSION=v0.316.0 bash scripts/prometheus3.sh install)
export PROMETHEUS316_BIN
"$PROMETHEUS316_BIN" --version 2>&1 | head -n1

step "remote_read encoders against Prometheus' Go code (chunks, frames and SAMPLES byte-identical)"
bash scripts/remote-read-reference.sh

step "conformance scripts through Prometheus 3.16's own promqltest engine, and 3.5's where both agree (our expected values are Prometheus')"
bash scripts/conformance-reference.sh

step "e2e tests (Prometheus → wrangler dev → Elasticsearch; PromQL against Prometheus 3)"
vt e2e --project e2e

node -e '
const fs = require("fs");
let passed = 0, failed = 0, skipped = 0;
for (const f of fs.readdirSync(process.argv[1])) {
  const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$results"
