#!/usr/bin/env bash
# Local Elasticsearch for promgate development and tests.
#
# Usage: scripts/elasticsearch.sh fetch|start|stop|stop-node|start-node|status|env
#
#   fetch   download the integ-test-zip distribution with Maven (from the
#           registry configured for mvn) and unpack it into
#           .cache/elasticsearch/<version>/ (skipped when already unpacked)
#   start   fetch if needed, start a single-node ES in the background on
#           127.0.0.1:${ES_PORT}, wait for yellow health; the last stdout line
#           is always `ES_URL=http://127.0.0.1:<port>`
#           With ES_NODES=N (2-9): a cluster of N nodes on loopback, each with
#           its own free HTTP and transport port and data dir; the last line
#           lists every node, `ES_URL=http://127.0.0.1:<p0>,http://...`, and
#           <p0> names the cluster in the commands below
#   stop [all]    stop the node (or cluster) on ES_PORT (default 9200), or with
#                 `all` every node started from this checkout (TERM, then KILL)
#   stop-node I   stop node I (0-based) of the cluster on ES_PORT by PID, keeping
#                 its data (ES_STOP_SIGNAL=KILL: kill it, as a crash would)
#   start-node I  start node I again and wait until the cluster has all nodes
#   status [all]  say whether the node(s) run; exit 0 if running, 3 if not
#                 (ES_PORT unset: every node started from this checkout)
#   env [all]     print ES_URL/ES_USERNAME/ES_PASSWORD of a running node
#
# Environment:
#   ES_VERSION      distribution version (default below)
#   ES_PORT         HTTP port (default 9200); for start, 0 or "free" picks a
#                   free port (read it from the last line, ES_URL=...).
#   ES_PASSWORD     password of the `elastic` superuser (default promgate-dev)
#   ES_NODES        nodes to start (default 1: single-node discovery)
#   ES_HEAP         heap per node: a size like "1g" (-Xms=-Xmx) or raw JVM
#                   flags (default "-Xms512m -Xmx1g")
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
#                   so `promgate setup --api-key` fails here; checked on 8.19.7, 9.2.0
#                   and 9.5.3)
#   ES_START_TIMEOUT seconds to wait for health (default 120; for a cluster
#                   90 + 60 per node)
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

ES_VERSION="${ES_VERSION:-9.5.3}"
ES_PASSWORD="${ES_PASSWORD:-promgate-dev}"
ES_GATEWAY_USER="${ES_GATEWAY_USER:-promgate}"
ES_GATEWAY_PASSWORD="${ES_GATEWAY_PASSWORD:-promgate-gateway-dev}"
# Not the password: a cluster name shows up in logs, status pages and answers of unauthenticated probes.
CLUSTER_NAME="promgate-local"
ES_HEAP="${ES_HEAP:--Xms512m -Xmx1g}"
# A cluster starts its nodes side by side on shared cores: give it longer.
ES_START_TIMEOUT="${ES_START_TIMEOUT:-$(( ${ES_NODES:-1} > 1 ? 90 + 60 * ${ES_NODES:-1} : 120 ))}"
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
# A cluster of ES_NODES > 1 nodes is described by $CACHE/cluster-<first port>: one line per node,
# "<index> <http port> <transport port>". Each node has its own run dir (run-<http port>: data, logs,
# config, es.pid) and is stopped by its PID; the first node's port names the cluster in every command.
cluster_file() { echo "$CACHE/cluster-$1"; }

# The config every node shares (keystore with the elastic password, roles.yml, file-realm users), made
# once: each JVM tool run costs seconds, so further nodes copy it.
prepare_config() { # $1 = config dir to create
  local conf="$1"
  rm -rf "$conf"
  cp -R "$ES_HOME/config" "$conf"
  [[ -z "$RUN_UID" ]] || chown -R "$RUN_UID:$RUN_GID" "$conf"
  # The elastic user's password: bootstrap.password in the keystore is
  # accepted for `elastic` until a password is stored in the security index.
  # (`add -f` creates the keystore too: one JVM start instead of two.)
  printf '%s' "$ES_PASSWORD" | ES_PATH_CONF="$conf" as_es_user "$ES_HOME/bin/elasticsearch-keystore" add -x -f bootstrap.password >/dev/null
  write_gateway_role "$conf/roles.yml"
  ES_PATH_CONF="$conf" as_es_user "$ES_HOME/bin/elasticsearch-users" useradd "$ES_GATEWAY_USER" -p "$ES_GATEWAY_PASSWORD" -r promgate_gateway >/dev/null
  local spec u rest pw roles
  for spec in ${ES_EXTRA_USERS:-}; do
    u="${spec%%:*}"; rest="${spec#*:}"; pw="${rest%%:*}"; roles="${rest#*:}"
    [[ -n "$u" && -n "$pw" && "$rest" == *:* ]] || die "bad ES_EXTRA_USERS entry '$spec' (want name:password:roles)"
    ES_PATH_CONF="$conf" as_es_user "$ES_HOME/bin/elasticsearch-users" useradd "$u" -p "$pw" -r "$roles" >/dev/null
  done
}

# elasticsearch.yml of one node. $4 = "" for a single node; else the seed list, and $5 the initial
# master nodes (only when the cluster forms for the first time).
write_node_yml() { # $1 = run dir, $2 = http port, $3 = transport port, $4 = seeds, $5 = initial masters
  local dir="$1"
  {
    echo "# generated by scripts/elasticsearch.sh"
    echo "cluster.name: $CLUSTER_NAME"
    echo "node.name: promgate-es-$2"
    echo "path.data: $dir/data"
    echo "path.logs: $dir/logs"
    echo "network.host: 127.0.0.1"
    echo "http.port: $2"
    echo "transport.port: $3"
    if [[ -z "$4" ]]; then
      echo "discovery.type: single-node"
    else
      echo "discovery.seed_hosts: [$4]"
      [[ -z "${5:-}" ]] || echo "cluster.initial_master_nodes: [$5]"
    fi
    echo "xpack.security.enabled: true"
    echo "xpack.security.http.ssl.enabled: false"
    echo "# Loopback only: Elasticsearch's bootstrap checks (TLS between nodes among them) apply beyond loopback."
    echo "xpack.security.transport.ssl.enabled: false"
    echo "xpack.security.enrollment.enabled: false"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
    echo "# Every test writes its own data stream, which this distribution cannot delete, and each backing index's"
    echo "# replica (never placed on one node) still counts against the shard limit (default 1,000 per node)."
    echo "cluster.max_shards_per_node: 10000"
  } >"$dir/config/elasticsearch.yml"
}

# Starts the node of run dir $1 (its config written) in the background; echoes the launcher's pid.
launch_node() { # $1 = run dir
  local dir="$1"
  : >"$dir/logs/launcher.out"
  [[ -z "$RUN_UID" ]] || chown -R "$RUN_UID:$RUN_GID" "$dir"
  # -d: the launcher exits once the server is up; the server writes its own
  # pid to es.pid. Run the launcher in the background so the wait is ours.
  ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" HOME="$dir" \
    ${RUN_AS[@]+"${RUN_AS[@]}"} nohup "$ES_HOME/bin/elasticsearch" -d -p "$dir/es.pid" >"$dir/logs/launcher.out" 2>&1 </dev/null &
  echo $!
}

# Waits until the cluster on $1 reports $2 nodes and yellow health, while every launcher in $3...
# (pid:port) is alive or has left a running server. Returns 1 on timeout or a node that died.
wait_cluster() { # $1 = port to ask, $2 = nodes, $3... = launcher:port
  local port="$1" want="$2" deadline spec launcher p pid
  shift 2
  deadline=$(( $(date +%s) + ES_START_TIMEOUT ))
  while (( $(date +%s) < deadline )); do
    if curl -fsS -o /dev/null --max-time 5 -u "elastic:$ES_PASSWORD" \
        "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&wait_for_nodes=$want&timeout=2s" 2>/dev/null; then
      return 0
    fi
    for spec in "$@"; do
      launcher="${spec%%:*}"; p="${spec#*:}"
      kill -0 "$launcher" 2>/dev/null && continue
      pid="$(read_pid "$p" || true)"
      if ! { [[ -n "$pid" ]] && pid_is_es "$pid"; }; then
        log "the node on port $p exited during start"
        return 1
      fi
    done
    sleep 1
  done
  log "Elasticsearch did not report $want node(s) and yellow health on port $port within ${ES_START_TIMEOUT}s"
  return 1
}

# After a failed start: say why, and stop what did start (by PID).
start_failed() { # $1... = launcher:port
  local spec launcher p dir pid child
  for spec in "$@"; do
    launcher="${spec%%:*}"; p="${spec#*:}"; dir="$(run_dir "$p")"
    log "--- $dir/logs/launcher.out (tail) ---"
    tail -n 15 "$dir/logs/launcher.out" >&2 2>/dev/null || true
    log "--- $dir/logs/$CLUSTER_NAME.log (tail) ---"
    tail -n 40 "$dir/logs/$CLUSTER_NAME.log" >&2 2>/dev/null || true
    pid="$(read_pid "$p" || true)"
    if [[ -n "$pid" ]] && pid_is_es "$pid"; then stop_pid "$pid" "$p"; fi
    if kill -0 "$launcher" 2>/dev/null; then
      # The server may not have written its pid yet: it is the launcher's child.
      for child in $(pgrep -P "$launcher" 2>/dev/null || true); do
        pid_is_es "$child" && stop_pid "$child" "$p"
      done
      kill "$launcher" 2>/dev/null || true
    fi
    rm -f "$dir/es.pid"
  done
}

# Lets launchers finish detaching (each exits right after its node is up).
reap_launchers() { # $1... = launcher:port
  local spec launcher
  for spec in "$@"; do
    launcher="${spec%%:*}"
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$launcher" 2>/dev/null || break; sleep 0.5; done
    wait "$launcher" 2>/dev/null || true
  done
}

JAVA_DESC=""
java_env() {
  init_run_user
  local java_home java_v
  java_home="$(find_java)"
  java_v="$(java_major "$java_home")"
  if ! [[ "$java_v" =~ ^[0-9]+$ ]] || (( java_v < 21 )); then
    die "$java_home is Java ${java_v:-?}; ES ${ES_VERSION%%.*}.x needs >= 21"
  fi
  local heap="$ES_HEAP"
  [[ "$heap" == -* ]] || heap="-Xms$heap -Xmx$heap"
  export ES_JAVA_HOME="$java_home" ES_JAVA_OPTS="$heap ${ES_EXTRA_JAVA_OPTS:-}"
  unset JAVA_HOME
  JAVA_DESC="Java $java_v at $java_home"
}

cmd_start() {
  local nodes="${ES_NODES:-1}" port="${ES_PORT:-9200}"
  [[ "$nodes" =~ ^[1-9]$ ]] || die "ES_NODES must be 1 to 9, not '$nodes'"
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
      echo "ES_URL=$(cluster_urls "$port")"
      return 0
    fi
    die "pid $pid (port $port) is running but not healthy; run 'stop' first"
  fi
  [[ -z "$pid" ]] || { log "removing stale pid file (pid $pid)"; rm -f "$dir/es.pid"; }
  port_in_use "$port" && die "port $port is already in use by another process"

  cmd_fetch
  java_env

  # Ports of every node: the first is ES_PORT; the rest, and all transport ports, free ones.
  local -a https transports
  local i seeds="" masters=""
  https[0]="$port"
  transports[0]="${ES_TRANSPORT_PORT:-$(free_port)}"
  for ((i = 1; i < nodes; i++)); do https[i]="$(free_port)"; transports[i]="$(free_port)"; done
  if (( nodes > 1 )); then
    for ((i = 0; i < nodes; i++)); do
      seeds+="${seeds:+, }\"127.0.0.1:${transports[i]}\""
      masters+="${masters:+, }\"promgate-es-${https[i]}\""
    done
  fi

  local t0 shared cfile
  t0="$(now)"
  cfile="$(cluster_file "$port")"
  shared="$CACHE/.config-$port-$$"
  prepare_config "$shared"
  : >"$cfile.new"
  for ((i = 0; i < nodes; i++)); do
    dir="$(run_dir "${https[i]}")"
    if [[ "${ES_KEEP_DATA:-0}" != 1 ]]; then rm -rf "$dir"; fi
    rm -rf "$dir/config" "$dir/tmp"
    mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
    cp -R "$shared" "$dir/config"
    write_node_yml "$dir" "${https[i]}" "${transports[i]}" "$seeds" "$masters"
    if [[ -n "$RUN_UID" ]]; then
      chown -R "$RUN_UID:$RUN_GID" "$dir"
      as_es_user test -r "$ES_HOME/lib/elasticsearch-$ES_VERSION.jar" -a -w "$dir" -a -x "$ES_JAVA_HOME/bin/java" \
        || die "uid $RUN_UID cannot read $ES_HOME or write $dir (every parent dir must be world-traversable); set ES_RUN_USER"
    fi
    echo "$i ${https[i]} ${transports[i]}" >>"$cfile.new"
    echo "$ES_VERSION" >"$dir/es.version"
  done
  rm -rf "$shared"
  if (( nodes > 1 )); then mv "$cfile.new" "$cfile"; else rm -f "$cfile.new" "$cfile"; fi

  log "starting Elasticsearch $ES_VERSION ($JAVA_DESC): $nodes node(s) on 127.0.0.1 port(s) ${https[*]} ..."
  local -a launchers=()
  for ((i = 0; i < nodes; i++)); do
    launchers+=("$(launch_node "$(run_dir "${https[i]}")"):${https[i]}")
  done
  if ! wait_cluster "$port" "$nodes" "${launchers[@]}"; then
    start_failed "${launchers[@]}"
    rm -f "$cfile"
    exit 1
  fi
  reap_launchers "${launchers[@]}"

  local pids=""
  for ((i = 0; i < nodes; i++)); do pids+="${pids:+ }$(read_pid "${https[i]}" || echo '?')"; done
  log "Elasticsearch is up: $nodes node(s), pid(s) $pids, after $(elapsed "$t0")s; user elastic / \$ES_PASSWORD"
  log "logs: $(run_dir "$port")/logs; stop with: ES_PORT=$port $0 stop"
  echo "ES_URL=$(cluster_urls "$port")"
}

# The HTTP ports of the cluster named by its first port (just that port for a single node).
cluster_ports() { # $1 = first port
  local f
  f="$(cluster_file "$1")"
  if [[ -s "$f" ]]; then awk '{ print $2 }' "$f"; else echo "$1"; fi
}

cluster_urls() { # $1 = first port
  local p out=""
  for p in $(cluster_ports "$1"); do out+="${out:+,}http://127.0.0.1:$p"; done
  echo "$out"
}

# node_line PORT INDEX: "<index> <http> <transport>" of one node of a cluster.
node_line() {
  local f line
  f="$(cluster_file "$1")"
  [[ -s "$f" ]] || die "no cluster was started on port $1 (ES_NODES > 1)"
  line="$(awk -v i="$2" '$1 == i' "$f")"
  [[ -n "$line" ]] || die "the cluster on port $1 has no node $2"
  echo "$line"
}

# stop-node I: stops node I of the cluster named by ES_PORT, by PID (ES_STOP_SIGNAL=KILL: at once, as a
# crash would); its data stays for start-node.
cmd_stop_node() { # $1 = index
  local first="${ES_PORT:?set ES_PORT to the port of the first node}" line http pid
  [[ "${1:-}" =~ ^[0-9]+$ ]] || die "usage: stop-node INDEX"
  line="$(node_line "$first" "$1")"
  http="$(awk '{ print $2 }' <<<"$line")"
  pid="$(read_pid "$http" || true)"
  if [[ -n "$pid" ]] && pid_is_es "$pid"; then
    if [[ "${ES_STOP_SIGNAL:-TERM}" == KILL ]]; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      log "killed node $1 (port $http, pid $pid)"
    else
      stop_pid "$pid" "$http"
    fi
  else
    log "node $1 (port $http) is not running"
  fi
  rm -f "$(run_dir "$http")/es.pid"
}

# start-node I: starts node I again with its data, and waits until the cluster has every node back.
cmd_start_node() { # $1 = index
  local first="${ES_PORT:?set ES_PORT to the port of the first node}" line http transport dir seeds="" nodes launcher pid t
  [[ "${1:-}" =~ ^[0-9]+$ ]] || die "usage: start-node INDEX"
  line="$(node_line "$first" "$1")"
  read -r _ http transport <<<"$line"
  dir="$(run_dir "$http")"
  pid="$(read_pid "$http" || true)"
  if [[ -n "$pid" ]] && pid_is_es "$pid"; then log "node $1 (port $http) already runs (pid $pid)"; return 0; fi
  # The version the cluster was started with, whatever ES_VERSION says now.
  if [[ -s "$dir/es.version" ]]; then ES_VERSION="$(cat "$dir/es.version")"; ES_HOME="$CACHE/$ES_VERSION"; fi
  java_env
  nodes="$(wc -l <"$(cluster_file "$first")")"
  while read -r _ _ t; do seeds+="${seeds:+, }\"127.0.0.1:$t\""; done <"$(cluster_file "$first")"
  # The cluster has formed: a restarted node joins it (no initial master nodes any more).
  write_node_yml "$dir" "$http" "$transport" "$seeds" ""
  rm -rf "$dir/tmp" && mkdir -p "$dir/tmp"
  launcher="$(launch_node "$dir")"
  local ask="$first"
  [[ "$http" != "$first" ]] || ask="$(cluster_ports "$first" | sed -n 2p)"
  if ! wait_cluster "$ask" "$nodes" "$launcher:$http"; then
    start_failed "$launcher:$http"
    exit 1
  fi
  reap_launchers "$launcher:$http"
  log "node $1 is back on port $http (pid $(read_pid "$http" || echo '?'))"
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
  local port p pid any=0
  for port in $(target_ports "${1:-}" 0); do
    any=1
    for p in $(cluster_ports "$port"); do
      pid="$(read_pid "$p" || true)"
      if [[ -n "$pid" ]] && pid_is_es "$pid"; then
        stop_pid "$pid" "$p"
      else
        log "Elasticsearch on port $p is not running${pid:+ (stale pid $pid)}"
      fi
      rm -f "$(run_dir "$p")/es.pid"
    done
    rm -f "$(cluster_file "$port")"
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
      echo "ES_URL=$(cluster_urls "$port")"
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
  stop-node) cmd_stop_node "${2:-}" ;;
  start-node) cmd_start_node "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  env) cmd_env "${2:-}" ;;
  *) echo "usage: $0 fetch|start|stop [all]|stop-node I|start-node I|status [all]|env [all]" >&2; exit 2 ;;
esac
