#!/usr/bin/env bash
# `npm run bench`: the ingest micro-benchmark, then end to end against an Elasticsearch started here.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/tsx ] || npm ci --no-audit --no-fund
es_out=$(ES_PORT=free bash scripts/elasticsearch.sh start)
ES_URL=$(printf '%s\n' "$es_out" | grep '^ES_URL=' | tail -n1 | cut -d= -f2-)
ES_PORT=${ES_URL##*:}
trap 'ES_PORT=$ES_PORT bash scripts/elasticsearch.sh stop || true' EXIT
export ES_URL ES_USERNAME=elastic ES_PASSWORD="${ES_PASSWORD:-promgate-dev}"
node bin/promgate.js setup >/dev/null
mkdir -p bench/out
node --import tsx bench/run.ts | tee bench/out/latest.txt
