#!/usr/bin/env bash
# `npm run test:compat`: the integration suite against every supported Elasticsearch version, one at a time.
# For each version: scripts/elasticsearch.sh starts it on a free port (fetching it with mvn if needed),
# `promgate setup` runs as the administrator, the integration project runs with promgate's own
# least-privileged credential (as in `npm test`), and the node is stopped by PID.
#
# Usage: scripts/compat.sh [VERSION...]   (default: the versions below; COMPAT_FILES narrows the test files)
set -euo pipefail
cd "$(dirname "$0")/.."

# Newest first: the default of scripts/elasticsearch.sh, the previous 9.x tested, the 8.x line.
VERSIONS=("$@")
(( ${#VERSIONS[@]} > 0 )) || VERSIONS=(9.5.3 9.2.0 8.19.7)

export ES_PASSWORD="${ES_PASSWORD:-promgate-dev}"
source scripts/lib/gate-credential.sh
results=.cache/compat-results
mkdir -p "$results"
declare -A outcome
port=""
cleanup() { [[ -z "$port" ]] || ES_PORT=$port bash scripts/elasticsearch.sh stop || true; }
trap cleanup EXIT

for v in "${VERSIONS[@]}"; do
  printf '\n== Elasticsearch %s\n' "$v"
  rm -f "$results/$v.json"
  if ! out=$(ES_VERSION=$v ES_PORT=free bash scripts/elasticsearch.sh start); then
    outcome[$v]="did not start"
    continue
  fi
  url=$(printf '%s\n' "$out" | sed -n 's/^ES_URL=//p' | tail -n1)
  port=${url##*:}
  status=0
  ES_URL=$url ES_USERNAME=elastic gate_credential "$port" || status=$?
  if (( status == 0 )); then
    # shellcheck disable=SC2086 # COMPAT_FILES is a list of test files
    ES_URL=$url ES_USERNAME=elastic npx vitest run --project integration ${COMPAT_FILES:-} --reporter=default --reporter=json \
      --outputFile="$results/$v.json" || status=$?
  fi
  ES_PORT=$port bash scripts/elasticsearch.sh stop || true
  port=""
  if (( status == 0 )); then
    outcome[$v]="passed"
  else
    outcome[$v]="FAILED"
  fi
done

printf '\n== Summary\n'
failed=0
for v in "${VERSIONS[@]}"; do
  counts=""
  if [[ -s "$results/$v.json" ]]; then
    counts=$(node -e 'const r=require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`)' "$PWD/$results/$v.json")
  fi
  printf 'Elasticsearch %-8s %s%s\n' "$v" "${outcome[$v]}" "${counts:+ ($counts)}"
  [[ "${outcome[$v]}" == passed ]] || failed=1
done
exit "$failed"
