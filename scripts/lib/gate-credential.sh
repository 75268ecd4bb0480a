# Sourced by scripts/test.sh and scripts/compat.sh: runs `promgate setup` as the administrator (ES_URL,
# ES_USERNAME, ES_PASSWORD set) and exports promgate's own least-privileged credential for the suites:
# GATE_ES_API_KEY, an API key limited to the promgate_gateway role, where the cluster can make one; else
# GATE_ES_USERNAME/GATE_ES_PASSWORD, the file-realm user of that role scripts/elasticsearch.sh created.
# The key is kept out of the log.
gate_credential() { # $1 = the port scripts/elasticsearch.sh started the node (or cluster) on
  local out
  unset GATE_ES_API_KEY GATE_ES_USERNAME GATE_ES_PASSWORD
  if out=$(node bin/promgate.js setup --api-key promgate-test 2>&1); then
    GATE_ES_API_KEY=$(printf '%s\n' "$out" | sed -n 's/^ES_API_KEY=//p')
    export GATE_ES_API_KEY
    printf '%s\n' "$out" | grep -v '^ES_API_KEY='
    echo "  promgate runs with an API key of role promgate_gateway"
    return 0
  fi
  printf '%s\n' "$out"
  # Only the key may fail (the templates are installed first): anything else stops here.
  grep -q 'could not create the promgate_gateway role' <<<"$out" || return 1
  eval "$(ES_PORT=$1 bash scripts/elasticsearch.sh env | grep '^GATE_ES_')"
  export GATE_ES_USERNAME GATE_ES_PASSWORD
  echo "  promgate runs as the file-realm user $GATE_ES_USERNAME (role promgate_gateway)"
}
