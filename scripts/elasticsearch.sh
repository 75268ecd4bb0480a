#!/usr/bin/env bash
# Local Elasticsearch for promgate development and tests.
#
# Usage: scripts/elasticsearch.sh fetch|start|stop|status|env
#
#   fetch   download the integ-test-zip distribution with Maven (from the
#           registry configured for mvn) and unpack it into
#           .cache/elasticsearch/<version>/ (skipped when already unpacked)
#   start   fetch if needed, start a single-node ES in the background on
#           127.0.0.1:${ES_PORT}, wait for yellow health; the last stdout line
#           is always `ES_URL=http://127.0.0.1:<port>`
#   stop [all]    stop the node on ES_PORT (default 9200), or with `all`
#                 every node started from this checkout (TERM, then KILL)
#   status [all]  say whether the node(s) run; exit 0 if running, 3 if not
#                 (ES_PORT unset: every node started from this checkout)
#   env [all]     print ES_URL/ES_USERNAME/ES_PASSWORD of a running node
#
# Environment:
#   ES_VERSION      distribution version (default below)
#   ES_PORT         HTTP port (default 9200); for start, 0 or "free" picks a
#                   free port (read it from the last line, ES_URL=...).
#   ES_PASSWORD     password of the `elastic` superuser (default promgate-dev)
#   ES_HEAP         heap: a size like "1g" (-Xms=-Xmx) or raw JVM flags
#                   (default "-Xms512m -Xmx1g")
#   ES_JAVA_HOME    JDK >= 21 to run ES with (default: newest in /usr/lib/jvm)
#   ES_KEEP_DATA=1  keep the data dir of a previous run on the same port
#   ES_GATEWAY_USER / ES_GATEWAY_PASSWORD
#                   the least-privileged file-realm user promgate runs with
#                   (default promgate / promgate-gateway-dev), holding the
#                   role promgate_gateway of `promgate setup --print-role`
#                   (written to roles.yml); `elastic` stays for setup and
#                   for tests' own checks
#   ES_EXTRA_USERS  extra file-realm users, "name:password:role1,role2 ..."
#                   (native users and API keys do not work on this zip: the
#                   .security index needs the missing analysis-common module,
#                   so `promgate setup --api-key` fails here; checked on 9.2.0
#                   and 9.5.3)
#   ES_START_TIMEOUT seconds to wait for health (default 120)
#   ES_STOP_TIMEOUT  seconds to wait after TERM before KILL (default 30)
#   ES_RUN_USER     Elasticsearch refuses to run as root: when this script
#                   runs as root, ES runs as this user (default nobody) via
#                   setpriv; its run dir is chowned to that user.
#
# The integ-test-zip ships only the server plus the transport-netty4, apm,
# x-pack-core and x-pack-security modules. Missing, among others:
#   rest-root      -> `GET /` and `HEAD /` answer 405 (use /_cluster/health)
#   data-streams   -> no /_data_stream APIs (data streams cannot be deleted),
#                     no index.look_back_time/look_ahead_time settings, TSDS
#                     backing indices get no start/end_time and cannot roll over
#   reindex        -> no _delete_by_query / _update_by_query / _reindex
#   analysis-common-> no .security index: native users and API keys fail
# Data streams (also TSDS) are still auto-created on the first _bulk create.
set -euo pipefail

ES_VERSION="${ES_VERSION:-9.2.0}"
ES_PASSWORD="${ES_PASSWORD:-promgate-dev}"
ES_GATEWAY_USER="${ES_GATEWAY_USER:-promgate}"
ES_GATEWAY_PASSWORD="${ES_GATEWAY_PASSWORD:-promgate-gateway-dev}"
# Not the password: a cluster name shows up in logs, status pages and answers of unauthenticated probes.
CLUSTER_NAME="promgate-local"
ES_HEAP="${ES_HEAP:--Xms512m -Xmx1g}"
ES_START_TIMEOUT="${ES_START_TIMEOUT:-120}"
ES_STOP_TIMEOUT="${ES_STOP_TIMEOUT:-30}"
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
MVN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE="$ROOT/.cache/elasticsearch"
ES_HOME="$CACHE/$ES_VERSION"

log() { echo "[elasticsearch.sh] $*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- fetch ----
cmd_fetch() {
  if [[ -x "$ES_HOME/bin/elasticsearch" ]]; then
    log "Elasticsearch $ES_VERSION already unpacked in $ES_HOME"
    return 0
  fi
  command -v unzip >/dev/null || die "unzip not found"
  local t0 dl zip tmp
  t0="$(now)"
  dl="$CACHE/downloads"
  zip="$dl/elasticsearch-$ES_VERSION.zip"
  mkdir -p "$dl"
  if [[ ! -s "$zip" ]]; then
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    log "fetching $ES_ARTIFACT with mvn ..."
    # Run outside the project so no pom.xml is picked up.
    if ! (cd "$dl" && mvn -B -Dstyle.color=never "$MVN_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$dl") >"$dl/mvn.log" 2>&1; then
      grep -E '\[(ERROR|WARNING)\]' "$dl/mvn.log" | head -n 20 >&2 || true
      die "mvn could not fetch $ES_ARTIFACT (see $dl/mvn.log; set ES_VERSION to a version the registry has)"
    fi
    [[ -s "$zip" ]] || die "mvn finished but $zip is missing"
  fi
  tmp="$CACHE/.unpack-$ES_VERSION-$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp"
  [[ -x "$tmp/elasticsearch-$ES_VERSION/bin/elasticsearch" ]] || { rm -rf "$tmp"; die "unexpected zip layout in $zip"; }
  rm -rf "$ES_HOME"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rm -rf "$tmp"
  log "unpacked Elasticsearch $ES_VERSION into $ES_HOME in $(elapsed "$t0")s"
}

# ----------------------------------------------------------------- java ----
java_major() { # $1 = JDK home; prints the feature version or nothing
  local v=""
  if [[ -f "$1/release" ]]; then
    v="$(sed -n 's/^JAVA_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$1/release" | head -n1)"
  fi
  if [[ -z "$v" && -x "$1/bin/java" ]]; then
    v="$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  fi
  [[ -n "$v" ]] || return 0
  v="${v#1.}"
  echo "${v%%[.+-]*}"
}

find_java() {
  if [[ -n "${ES_JAVA_HOME:-}" ]]; then
    [[ -x "$ES_JAVA_HOME/bin/java" ]] || die "ES_JAVA_HOME=$ES_JAVA_HOME has no bin/java"
    echo "$ES_JAVA_HOME"
    return
  fi
  local best="" best_v=0 d v
  for d in /usr/lib/jvm/* ${JAVA_HOME:+"$JAVA_HOME"}; do
    [[ -x "$d/bin/java" && ! -L "$d" ]] || continue
    v="$(java_major "$d")"
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if (( v >= 21 && v > best_v )); then best="$d"; best_v="$v"; fi
  done
  [[ -n "$best" ]] || die "no JDK >= 21 found in /usr/lib/jvm; set ES_JAVA_HOME"
  echo "$best"
}

# ---------------------------------------------------------------- ports ----
free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  elif command -v node >/dev/null; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  else
    local p
    for ((p = 39200; p < 39900; p++)); do
      port_in_use "$p" || { echo "$p"; return; }
    done
    die "no free port found"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ------------------------------------------------------------ run as ----
# as_es_user CMD...: run CMD as the unprivileged ES user when we are root.
RUN_UID="" RUN_GID=""
RUN_AS=()
init_run_user() {
  if (( EUID != 0 )); then return 0; fi
  local user="${ES_RUN_USER:-nobody}"
  RUN_UID="$(id -u "$user" 2>/dev/null)" || die "ES_RUN_USER=$user does not exist"
  RUN_GID="$(id -g "$user")"
  (( RUN_UID != 0 )) || die "ES_RUN_USER must not be root (Elasticsearch refuses to run as root)"
  command -v setpriv >/dev/null || die "setpriv (util-linux) is needed to run Elasticsearch as $user"
  RUN_AS=(setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups --)
}
as_es_user() { ${RUN_AS[@]+"${RUN_AS[@]}"} "$@"; }

# ------------------------------------------------------------ processes ----
run_dir() { echo "$CACHE/run-$1"; }

# Is $1 a live Elasticsearch process (guards against recycled PIDs)?
pid_is_es() {
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'org.elasticsearch'
}

read_pid() { # $1 = port
  local f
  f="$(run_dir "$1")/es.pid"
  [[ -s "$f" ]] && tr -dc '0-9' <"$f"
}

healthy() { # $1 = port
  curl -fsS -o /dev/null --max-time 5 -u "elastic:$ES_PASSWORD" \
    "http://127.0.0.1:$1/_cluster/health?wait_for_status=yellow&timeout=2s" 2>/dev/null
}

known_ports() {
  local f
  for f in "$CACHE"/run-*/es.pid; do
    [[ -e "$f" ]] || continue
    f="${f%/es.pid}"
    echo "${f##*/run-}"
  done
}

# Ports a command acts on: ES_PORT (default 9200); "all" (ES_PORT=all or the
# argument `all`) = every node started from this checkout. stop never picks
# "all" by itself: other people's tests may share this .cache.
target_ports() { # $1 = "all" or empty; $2 = 1 if an unset ES_PORT means all
  local p="${ES_PORT:-}"
  if [[ "${1:-}" == all || "$p" == all || ( -z "$p" && "${2:-0}" == 1 ) ]]; then
    known_ports
    return
  fi
  p="${p:-9200}"
  [[ "$p" =~ ^[0-9]+$ && "$p" != 0 ]] || die "ES_PORT must be a port number (or 'all') for this command, not '$p'"
  echo "$p"
}

# ----------------------------------------------------------------- roles ----
# The gateway's role comes from promgate itself (one definition: src/elastic/privileges.ts). JSON is YAML,
# so the role's JSON on one line is a roles.yml entry. Only promgate's index names are passed on: other
# ES_* variables of this script are not promgate settings.
write_gateway_role() { # $1 = roles.yml
  local role
  role="$(env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
    ${PROMGATE_METADATA_INDEX:+PROMGATE_METADATA_INDEX="$PROMGATE_METADATA_INDEX"} \
    ${PROMGATE_EXEMPLAR_INDEX:+PROMGATE_EXEMPLAR_INDEX="$PROMGATE_EXEMPLAR_INDEX"} \
    node "$ROOT/bin/promgate.js" setup --print-role gateway)" || die "promgate setup --print-role failed (npm install first)"
  printf 'promgate_gateway: %s\n' "$(printf '%s' "$role" | tr -d '\n')" >>"$1"
  local compactor
  compactor="$(env -i PATH="$PATH" HOME="${HOME:-/tmp}" node "$ROOT/bin/promgate.js" setup --print-role compactor)" \
    || die "promgate setup --print-role compactor failed"
  printf 'promgate_compactor: %s\n' "$(printf '%s' "$compactor" | tr -d '\n')" >>"$1"
}

# ---------------------------------------------------------------- start ----
cmd_start() {
  local port="${ES_PORT:-9200}"
  if [[ "$port" == 0 || "$port" == free ]]; then
    port="$(free_port)"
    log "picked free port $port"
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || die "bad ES_PORT=$port"

  local dir pid
  dir="$(run_dir "$port")"
  pid="$(read_pid "$port" || true)"
  if [[ -n "$pid" ]] && pid_is_es "$pid"; then
    if healthy "$port"; then
      log "Elasticsearch already running on port $port (pid $pid)"
      echo "ES_URL=http://127.0.0.1:$port"
      return 0
    fi
    die "pid $pid (port $port) is running but not healthy; run 'stop' first"
  fi
  [[ -z "$pid" ]] || { log "removing stale pid file (pid $pid)"; rm -f "$dir/es.pid"; }
  port_in_use "$port" && die "port $port is already in use by another process"

  cmd_fetch

  init_run_user
  local java_home java_v t0 transport
  java_home="$(find_java)"
  java_v="$(java_major "$java_home")"
  if ! [[ "$java_v" =~ ^[0-9]+$ ]] || (( java_v < 21 )); then
    die "$java_home is Java ${java_v:-?}; ES ${ES_VERSION%%.*}.x needs >= 21"
  fi
  transport="${ES_TRANSPORT_PORT:-$(free_port)}"
  t0="$(now)"

  if [[ "${ES_KEEP_DATA:-0}" != 1 ]]; then
    rm -rf "$dir"
  fi
  rm -rf "$dir/config" "$dir/tmp"
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  : >"$dir/logs/launcher.out"
  cp -R "$ES_HOME/config" "$dir/config"
  if [[ -n "$RUN_UID" ]]; then
    chown -R "$RUN_UID:$RUN_GID" "$dir"
    as_es_user test -r "$ES_HOME/lib/elasticsearch-$ES_VERSION.jar" -a -w "$dir" -a -x "$java_home/bin/java" \
      || die "uid $RUN_UID cannot read $ES_HOME or write $dir (every parent dir must be world-traversable); set ES_RUN_USER"
  fi

  cat >"$dir/config/elasticsearch.yml" <<EOF
# generated by scripts/elasticsearch.sh
cluster.name: $CLUSTER_NAME
node.name: promgate-es-$port
path.data: $dir/data
path.logs: $dir/logs
network.host: 127.0.0.1
http.port: $port
transport.port: $transport
discovery.type: single-node
xpack.security.enabled: true
xpack.security.http.ssl.enabled: false
xpack.security.transport.ssl.enabled: false
xpack.security.enrollment.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
# Every test writes its own data stream, which this distribution cannot delete, and each backing index's
# replica (never placed on one node) still counts against the shard limit (default 1,000 per node).
cluster.max_shards_per_node: 10000
EOF

  local heap="$ES_HEAP"
  [[ "$heap" == -* ]] || heap="-Xms$heap -Xmx$heap"

  export ES_JAVA_HOME="$java_home" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" HOME="$dir"
  export ES_JAVA_OPTS="$heap ${ES_EXTRA_JAVA_OPTS:-}"
  unset JAVA_HOME

  # The elastic user's password: bootstrap.password in the keystore is
  # accepted for `elastic` until a password is stored in the security index.
  # (`add -f` creates the keystore too: one JVM start instead of two.)
  printf '%s' "$ES_PASSWORD" | as_es_user "$ES_HOME/bin/elasticsearch-keystore" add -x -f bootstrap.password >/dev/null

  write_gateway_role "$dir/config/roles.yml"
  as_es_user "$ES_HOME/bin/elasticsearch-users" useradd "$ES_GATEWAY_USER" -p "$ES_GATEWAY_PASSWORD" -r promgate_gateway >/dev/null

  local spec u rest pw roles
  for spec in ${ES_EXTRA_USERS:-}; do
    u="${spec%%:*}"; rest="${spec#*:}"; pw="${rest%%:*}"; roles="${rest#*:}"
    [[ -n "$u" && -n "$pw" && "$rest" == *:* ]] || die "bad ES_EXTRA_USERS entry '$spec' (want name:password:roles)"
    as_es_user "$ES_HOME/bin/elasticsearch-users" useradd "$u" -p "$pw" -r "$roles" >/dev/null
  done

  log "starting Elasticsearch $ES_VERSION (Java $java_v at $java_home) on 127.0.0.1:$port ..."
  # -d: the launcher exits once the server is up; the server writes its own
  # pid to es.pid. Run the launcher in the background so the wait is ours.
  ${RUN_AS[@]+"${RUN_AS[@]}"} nohup "$ES_HOME/bin/elasticsearch" -d -p "$dir/es.pid" >"$dir/logs/launcher.out" 2>&1 </dev/null &
  local launcher=$! deadline ok=0
  deadline=$(( $(date +%s) + ES_START_TIMEOUT ))
  while (( $(date +%s) < deadline )); do
    if healthy "$port"; then ok=1; break; fi
    if ! kill -0 "$launcher" 2>/dev/null; then
      # Launcher is gone: fine if it left a running server behind.
      pid="$(read_pid "$port" || true)"
      if ! { [[ -n "$pid" ]] && pid_is_es "$pid"; }; then
        wait "$launcher" 2>/dev/null || true
        break
      fi
    fi
    sleep 1
  done

  if (( ok == 0 )); then
    log "Elasticsearch did not become healthy on port $port within ${ES_START_TIMEOUT}s"
    log "--- $dir/logs/launcher.out (tail) ---"
    tail -n 15 "$dir/logs/launcher.out" >&2 2>/dev/null || true
    log "--- $dir/logs/$CLUSTER_NAME.log (tail) ---"
    tail -n 60 "$dir/logs/$CLUSTER_NAME.log" >&2 2>/dev/null || true
    pid="$(read_pid "$port" || true)"
    if [[ -n "$pid" ]] && pid_is_es "$pid"; then stop_pid "$pid" "$port"; fi
    if kill -0 "$launcher" 2>/dev/null; then
      # The server may not have written its pid yet: it is the launcher's child.
      local child
      for child in $(pgrep -P "$launcher" 2>/dev/null || true); do
        pid_is_es "$child" && stop_pid "$child" "$port"
      done
      kill "$launcher" 2>/dev/null || true
    fi
    rm -f "$dir/es.pid"
    exit 1
  fi
  # Let the launcher finish detaching (it exits right after the node is up).
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$launcher" 2>/dev/null || break; sleep 0.5; done
  wait "$launcher" 2>/dev/null || true

  pid="$(read_pid "$port" || true)"
  log "Elasticsearch is up on port $port (pid ${pid:-?}) after $(elapsed "$t0")s; user elastic / \$ES_PASSWORD"
  log "logs: $dir/logs; stop with: ES_PORT=$port $0 stop"
  echo "ES_URL=http://127.0.0.1:$port"
}

# ----------------------------------------------------------------- stop ----
stop_pid() { # $1 = pid, $2 = port
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < ES_STOP_TIMEOUT * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "stopped Elasticsearch on port $2 (pid $pid)"; return 0; }
    sleep 0.5
  done
  log "pid $pid did not exit after ${ES_STOP_TIMEOUT}s; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  die "pid $pid still alive after KILL"
}

cmd_stop() {
  local port pid any=0
  for port in $(target_ports "${1:-}" 0); do
    any=1
    pid="$(read_pid "$port" || true)"
    if [[ -n "$pid" ]] && pid_is_es "$pid"; then
      stop_pid "$pid" "$port"
    else
      log "Elasticsearch on port $port is not running${pid:+ (stale pid $pid)}"
    fi
    rm -f "$(run_dir "$port")/es.pid"
  done
  (( any )) || log "no Elasticsearch started by this script"
}

# --------------------------------------------------------------- status ----
cmd_status() {
  local port pid rc=3 all=1 any=0
  for port in $(target_ports "${1:-}" 1); do
    any=1
    pid="$(read_pid "$port" || true)"
    if [[ -n "$pid" ]] && pid_is_es "$pid"; then
      if healthy "$port"; then
        echo "running: http://127.0.0.1:$port (pid $pid, healthy)"
      else
        echo "running: http://127.0.0.1:$port (pid $pid, not healthy yet)"
      fi
    else
      echo "not running: port $port"
      all=0
    fi
  done
  (( any )) || { echo "not running: no Elasticsearch started by this script"; all=0; }
  (( all )) && rc=0
  return "$rc"
}

cmd_env() {
  local port pid
  for port in $(target_ports "${1:-}" 1); do
    pid="$(read_pid "$port" || true)"
    if [[ -n "$pid" ]] && pid_is_es "$pid"; then
      echo "ES_URL=http://127.0.0.1:$port"
      echo "ES_USERNAME=elastic"
      echo "ES_PASSWORD=$ES_PASSWORD"
      echo "GATE_ES_USERNAME=$ES_GATEWAY_USER"
      echo "GATE_ES_PASSWORD=$ES_GATEWAY_PASSWORD"
      return 0
    fi
  done
  die "no running Elasticsearch found"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  env) cmd_env "${2:-}" ;;
  *) echo "usage: $0 fetch|start|stop [all]|status [all]|env [all]" >&2; exit 2 ;;
esac
