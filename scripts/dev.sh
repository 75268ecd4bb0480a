#!/usr/bin/env bash
# `npm start`: a local stack on loopback — Elasticsearch on 127.0.0.1:9200 (unless ES_URL is set),
# `promgate setup`, Debian's node_exporter (127.0.0.1:9100) and Prometheus (127.0.0.1:9090) scraping both and
# remote_writing to promgate, and promgate under `wrangler dev` (workerd) on 127.0.0.1:8787, so data flows
# within a minute. DEV_PROMETHEUS=0 leaves Prometheus and node_exporter out.
# The credentials below are development defaults for loopback only. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-8787}"
DEV_PASSWORD="promgate-dev"

if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
node scripts/gen-assets.mjs

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
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$started_es" ] && bash scripts/elasticsearch.sh stop || true
}
trap stop_all EXIT

node bin/promgate.js setup

# promgate itself runs with the least-privileged user the script made (role promgate_gateway), not as
# elastic, when this script started Elasticsearch; with ES_URL given, with the credentials given.
gate_user=${ES_USERNAME:-} gate_password=${ES_PASSWORD:-}
if [ -n "$started_es" ]; then
  eval "$(ES_PASSWORD="$DEV_PASSWORD" bash scripts/elasticsearch.sh env | grep '^GATE_ES_')"
  gate_user=$GATE_ES_USERNAME gate_password=$GATE_ES_PASSWORD
fi

# wrangler dev reads local vars and secrets from .dev.vars (git-ignored).
{
  echo "ES_URL=$ES_URL"
  [ -n "${ES_API_KEY:-}" ] && echo "ES_API_KEY=$ES_API_KEY"
  [ -n "$gate_user" ] && echo "ES_USERNAME=$gate_user"
  [ -n "$gate_password" ] && echo "ES_PASSWORD=$gate_password"
  # The one local user is an operator: admin (it scrapes /metrics below) with every stream, writing to
  # "default" like Elasticsearch's own endpoint; tenants get only their own namespace unless told otherwise.
  echo "PROMGATE_TENANTS={\"dev\":{\"password\":\"$DEV_PASSWORD\",\"admin\":true,\"streams\":[\"metrics-*.prometheus-*\"],\"namespace\":\"default\"}}"
} > .dev.vars
chmod 600 .dev.vars

if [ "${DEV_PROMETHEUS:-1}" != 0 ]; then
  run_dir=.cache/dev-prometheus
  mkdir -p "$run_dir"
  prometheus_bin=$(bash scripts/prometheus.sh install)
  node_exporter_bin=$(bash scripts/prometheus.sh install-node-exporter)
  "$node_exporter_bin" --web.listen-address=127.0.0.1:9100 > "$run_dir/node-exporter.log" 2>&1 &
  pids+=($!)
  cat > "$run_dir/prometheus.yml" <<YML
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ["127.0.0.1:9090"] }]
  - job_name: node
    static_configs: [{ targets: ["127.0.0.1:9100"] }]
  - job_name: promgate   # promgate's own /metrics, with the admin tenant's credentials
    static_configs: [{ targets: ["127.0.0.1:$PORT"] }]
    basic_auth: { username: dev, password: $DEV_PASSWORD }
remote_write:
  - url: http://127.0.0.1:$PORT/api/v1/write
    basic_auth: { username: dev, password: $DEV_PASSWORD }
YML
  "$prometheus_bin" --config.file="$run_dir/prometheus.yml" --storage.tsdb.path="$run_dir/data" \
    --web.listen-address=127.0.0.1:9090 > "$run_dir/prometheus.log" 2>&1 &
  pids+=($!)
fi

cat <<TXT

promgate (local development stack, loopback only)
  remote_write:   http://127.0.0.1:$PORT/api/v1/write
                  http://127.0.0.1:$PORT/metrics/{dataset}/{namespace}/api/v1/write
  status page:    http://127.0.0.1:$PORT/  (sign in as the tenant below)
  health:         http://127.0.0.1:$PORT/-/ready
  Elasticsearch:  $ES_URL  (user elastic, password $DEV_PASSWORD when started here)
  tenant:         dev / $DEV_PASSWORD (admin; reads and writes every metrics-*.prometheus-* stream)

Add to prometheus.yml:

remote_write:
  - url: http://127.0.0.1:$PORT/api/v1/write
    basic_auth:
      username: dev
      password: $DEV_PASSWORD

Grafana: add a Prometheus data source with URL http://127.0.0.1:$PORT, basic auth dev / $DEV_PASSWORD.
$( [ "${DEV_PROMETHEUS:-1}" != 0 ] && echo "Already flowing: Prometheus on 127.0.0.1:9090 scrapes itself and node_exporter (127.0.0.1:9100) into promgate." )

Ctrl-C stops everything started here.
TXT

WRANGLER_SEND_METRICS=false node node_modules/wrangler/bin/wrangler.js dev --ip 127.0.0.1 --port "$PORT" \
  --show-interactive-dev-session=false &
pids+=($!)
wait "${pids[-1]}"
