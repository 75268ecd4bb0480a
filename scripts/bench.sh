#!/usr/bin/env bash
# `npm run bench`: the ingest micro-benchmark on a quiet machine first, the ingest path per runtime, then end
# to end against an Elasticsearch started here (stopped afterwards). Output also goes to bench/out/latest.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/tsx ] || npm install --no-audit --no-fund
mkdir -p bench/out
node --import tsx bench/run.ts ingest | tee bench/out/latest.txt
node --import tsx bench/run.ts regex | tee -a bench/out/latest.txt
# promgate on Node, Bun, Deno and workerd (wrangler dev) against a _bulk sink: needs no Elasticsearch
node --import tsx bench/run.ts runtimes | tee -a bench/out/latest.txt
PROMETHEUS3_BIN=$(bash scripts/prometheus3.sh install)
export PROMETHEUS3_BIN
es_out=$(ES_PORT=free bash scripts/elasticsearch.sh start)
ES_URL=$(printf '%s\n' "$es_out" | grep '^ES_URL=' | tail -n1 | cut -d= -f2-)
ES_PORT=${ES_URL##*:}
trap 'ES_PORT=$ES_PORT bash scripts/elasticsearch.sh stop || true' EXIT
export ES_URL ES_USERNAME=elastic ES_PASSWORD="${ES_PASSWORD:-promgate-dev}"
node bin/promgate.js setup >/dev/null
node --import tsx bench/run.ts e2e | tee -a bench/out/latest.txt
