#!/usr/bin/env bash
# `npm test`: everything, on a fresh machine too. Installs what is missing (npm packages, Elasticsearch via
# mvn, Debian's prometheus), then runs typecheck → unit → integration (real ES) → e2e (real Prometheus →
# promgate under wrangler dev → real ES). Stops what it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "npm packages"
if [ ! -x node_modules/.bin/vitest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: the lock file holds only this platform's optional binaries (buf, workerd), which npm ci refuses
  npm install --no-audit --no-fund
fi

step "typecheck"
npm run --silent typecheck

step "unit tests"
npx vitest run --project unit

step "workers tests (the app inside workerd)"
npx vitest run --config vitest.workers.config.ts

step "Elasticsearch (scripts/elasticsearch.sh, on a free port)"
es_out=$(ES_PORT=free bash scripts/elasticsearch.sh start)
ES_URL=$(printf '%s\n' "$es_out" | grep '^ES_URL=' | tail -n1 | cut -d= -f2-)
[ -n "$ES_URL" ] || { echo "elasticsearch.sh did not report ES_URL" >&2; exit 1; }
ES_PORT=${ES_URL##*:}
cleanup() { ES_PORT=$ES_PORT bash scripts/elasticsearch.sh stop || true; }
trap cleanup EXIT
export ES_URL ES_USERNAME=elastic ES_PASSWORD="${ES_PASSWORD:-promgate-dev}"

step "promgate setup"
node bin/promgate.js setup

step "integration tests (real Elasticsearch at $ES_URL)"
npx vitest run --project integration

step "Prometheus (Debian package)"
PROMETHEUS_BIN=$(bash scripts/prometheus.sh install)
export PROMETHEUS_BIN
"$PROMETHEUS_BIN" --version 2>&1 | head -n1

step "e2e tests (Prometheus → wrangler dev → Elasticsearch)"
npx vitest run --project e2e
