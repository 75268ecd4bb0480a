#!/usr/bin/env bash
# `npm start`: a local stack on loopback — Elasticsearch on 127.0.0.1:9200 (unless ES_URL is set),
# `promgate setup`, then promgate under `wrangler dev` (workerd) on 127.0.0.1:8787.
# The credentials below are development defaults for loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8787}"
DEV_PASSWORD="promgate-dev"

if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

started_es=""
if [ -z "${ES_URL:-}" ]; then
  export ES_PORT="${ES_PORT:-9200}"
  # Keep the dev stack's data across restarts (tests always start from scratch).
  es_out=$(ES_KEEP_DATA=1 ES_PASSWORD="$DEV_PASSWORD" bash scripts/elasticsearch.sh start)
  ES_URL=$(printf '%s\n' "$es_out" | grep '^ES_URL=' | tail -n1 | cut -d= -f2-)
  started_es=1
  export ES_USERNAME=elastic ES_PASSWORD="$DEV_PASSWORD"
fi
export ES_URL
stop_es() { [ -n "$started_es" ] && bash scripts/elasticsearch.sh stop || true; }
trap stop_es EXIT

node bin/promgate.js setup

# wrangler dev reads local vars and secrets from .dev.vars (git-ignored).
{
  echo "ES_URL=$ES_URL"
  [ -n "${ES_API_KEY:-}" ] && echo "ES_API_KEY=$ES_API_KEY"
  [ -n "${ES_USERNAME:-}" ] && echo "ES_USERNAME=$ES_USERNAME"
  [ -n "${ES_PASSWORD:-}" ] && echo "ES_PASSWORD=$ES_PASSWORD"
  echo "PROMGATE_TENANTS={\"dev\":{\"password\":\"$DEV_PASSWORD\"}}"
} > .dev.vars
chmod 600 .dev.vars

cat <<TXT

promgate (local development stack, loopback only)
  remote_write:   http://127.0.0.1:$PORT/api/v1/write
                  http://127.0.0.1:$PORT/metrics/{dataset}/{namespace}/api/v1/write
  health:         http://127.0.0.1:$PORT/-/ready
  Elasticsearch:  $ES_URL  (user elastic, password $DEV_PASSWORD when started here)
  tenant:         dev / $DEV_PASSWORD (writes to every metrics-*.prometheus-* stream)

Add to prometheus.yml:

remote_write:
  - url: http://127.0.0.1:$PORT/api/v1/write
    basic_auth:
      username: dev
      password: $DEV_PASSWORD

Ctrl-C stops promgate$( [ -n "$started_es" ] && echo " and Elasticsearch" ).
TXT

WRANGLER_SEND_METRICS=false node node_modules/wrangler/bin/wrangler.js dev --ip 127.0.0.1 --port "$PORT" \
  --show-interactive-dev-session=false
