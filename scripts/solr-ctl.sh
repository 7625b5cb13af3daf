#!/usr/bin/env bash
# Apache Solr 9.10.1 (from Maven Central, solr/pom.xml) on this machine.
#   scripts/solr-ctl.sh build                     resolve and compile solr/ (done by start)
#   scripts/solr-ctl.sh start|stop|status         standalone Solr, cores ckan, ckan_test,
#                                                 ckan_conformance at http://127.0.0.1:$SOLR_PORT/solr/
#   scripts/solr-ctl.sh start|stop|status --cloud SolrCloud: ZooKeeper and two Solr nodes in one
#                                                 JVM, collections of 2 shards x 2 replicas
#   scripts/solr-ctl.sh node stop|start N --cloud stop or start node N (1, 2) of the running
#                                                 cloud, the others running on (for tests)
# Environment: SOLR_PORT (8983; the cloud's first node), SOLR_PORT2 (SOLR_PORT+1,
# the cloud's second node), ZK_PORT (SOLR_PORT+1000), SOLR_SCHEMA (de: German
# text analysis, the portal's default; en: CKAN's English schema), SOLR_HEAP
# (MB per Solr node, 512), SOLR_START_TIMEOUT (seconds; 180, cloud 300),
# SOLR_NODE_TIMEOUT (seconds a node stop or start may take; 300).
# Data, logs and pid files are under .run/solr/. "start" uses a Solr that
# already answers on the port; "stop" stops only what this script started.
source "$(dirname "$0")/lib.sh"
SOLR_DIR="$RUN_DIR/solr"
SOLR_SCHEMA="${SOLR_SCHEMA:-de}"
SOLR_PORT2="${SOLR_PORT2:-$((SOLR_PORT + 1))}"
ZK_PORT="${ZK_PORT:-$((SOLR_PORT + 1000))}"
SOLR_HEAP="${SOLR_HEAP:-512}"
CORES=(ckan ckan_test ckan_conformance)
PROJECT="$ROOT/solr"
LAUNCHER=de.gelsenkirchen.solr.Launcher
mkdir -p "$SOLR_DIR"

usage="usage: $0 build|start|stop|status [--cloud] | node stop|start N --cloud"
cloud=0
action=""
node_args=()
for arg in "$@"; do
  case "$arg" in
    --cloud) cloud=1 ;;
    build|start|stop|status) if [ "$action" = node ]; then node_args+=("$arg"); else action=$arg; fi ;;
    node) action=node ;;
    *) [ "$action" = node ] && node_args+=("$arg") || die "$usage" ;;
  esac
done
[ -n "$action" ] || die "$usage"
if [ "$action" = node ]; then
  [ "$cloud" = 1 ] && [ "${#node_args[@]}" = 2 ] && [[ "${node_args[0]}" =~ ^(stop|start)$ ]] \
    && [[ "${node_args[1]}" =~ ^[0-9]+$ ]] || die "$usage"
fi
case "$SOLR_SCHEMA" in de|en) ;; *) die "SOLR_SCHEMA=$SOLR_SCHEMA: use de (German) or en (CKAN's English)" ;; esac
if [ "$cloud" = 1 ]; then mode=cloud; else mode=standalone; fi
pidfile="$SOLR_DIR/$mode.pid"
portfile="$SOLR_DIR/$mode.port"  # the SOLR_PORT it was started with
log="$SOLR_DIR/$mode.log"
build_log="$SOLR_DIR/build.log"
control_dir="$SOLR_DIR/cloud-control"  # the launcher's control channel (node stop|start)

# Java 17 and Maven: installed from Debian's packages when missing (as root).
need_java() {
  command -v java >/dev/null && command -v mvn >/dev/null && return
  apt_install "Java 17 and Maven (for Apache Solr)" openjdk-17-jdk-headless maven
}

# build: compile the launcher and write the classpath (jars in ~/.m2). Skipped
# while solr/ is unchanged and every jar is still there, so that a second
# start asks Maven nothing.
build() {
  need_java
  local stamp="$PROJECT/target/build.stamp" digest missing=0
  digest=$(cat "$PROJECT/pom.xml" "$PROJECT"/src/main/java/de/gelsenkirchen/solr/*.java \
    "$PROJECT"/src/main/resources/* | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -f "$PROJECT/target/classpath.txt" ]; then
    while read -r jar; do [ -f "$jar" ] || { missing=1; break; }; done < <(tr ':' '\n' <"$PROJECT/target/classpath.txt")
    [ "$missing" = 0 ] && return
  fi
  say "building Solr 9.10.1 from Maven Central into ~/.m2 (log: $build_log)"
  local start=$SECONDS
  # offline first: once ~/.m2 has everything, a rebuild downloads nothing
  timeout 300 mvn -B -o -f "$PROJECT/pom.xml" compile >"$build_log" 2>&1 \
    || timeout 900 mvn -B -f "$PROJECT/pom.xml" compile >>"$build_log" 2>&1 \
    || { tail -n 30 "$build_log" >&2; die "the Maven build of solr/ failed (log: $build_log)"; }
  echo "$digest" >"$stamp"
  say "built in $((SECONDS - start))s"
}

ours_running() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && grep -qa "$LAUNCHER" "/proc/$pid/cmdline" 2>/dev/null
}

# solr_info PORT: "VERSION MODE" (mode std or solrcloud) of the Solr on PORT,
# or nothing when no Solr answers there
solr_info() {
  "$VENV/bin/python" - "http://127.0.0.1:$1/solr/admin/info/system?wt=json" <<'PY' 2>/dev/null || true
import json, sys, urllib.request
info = json.load(urllib.request.urlopen(sys.argv[1], timeout=3))
print(info["lucene"]["solr-spec-version"], info["mode"])
PY
}

# port_free PORT: nothing listens on 127.0.0.1:PORT
port_free() {
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0 else 1)
PY
}

configset() {  # configset DIR: CKAN's schema + ours, $SOLR_SCHEMA analysis
  rm -rf "$1"
  "$VENV/bin/pgsolr" configset "$1" --language "$SOLR_SCHEMA" >/dev/null \
    || die "pgsolr configset failed: run make install first"
}

java_cmd() {  # java_cmd HEAP ARGS...: the launcher in a JVM
  local cp; cp="$PROJECT/target/classes:$(cat "$PROJECT/target/classpath.txt")"
  # shellcheck disable=SC2206 # SOLR_JAVA_OPTS: more JVM options, split on spaces
  JAVA_CMD=(java "-Xms${1}m" "-Xmx${1}m" -XX:+UseG1GC -Djava.awt.headless=true
    "-Dsolr.log.dir=$SOLR_DIR" ${SOLR_JAVA_OPTS:-} -cp "$cp" "$LAUNCHER" "${@:2}")
}

start_jvm() {  # start_jvm: run JAVA_CMD in the background, pid in $pidfile
  : >"$log"
  nohup "${JAVA_CMD[@]}" >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "$SOLR_PORT" >"$portfile"
}

start_standalone() {
  local home="$SOLR_DIR/standalone"
  mkdir -p "$home"
  cat >"$home/solr.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8" ?>
<!-- written by scripts/solr-ctl.sh -->
<solr>
  <str name="configSetBaseDir">${configSetBaseDir:configsets}</str>
  <metrics enabled="false"/>
</solr>
XML
  configset "$home/configsets/ckan/conf"
  # an index made with another schema cannot take new documents: empty the
  # cores when the configset changed (ckan search-index rebuild refills them)
  local core digest
  digest=$(cd "$home/configsets/ckan/conf" && find . -type f | sort | xargs cat | sha256sum | cut -c1-16)
  if [ -f "$home/configset.sha" ] && [ "$(cat "$home/configset.sha")" != "$digest" ]; then
    say "the configset changed (SOLR_SCHEMA=$SOLR_SCHEMA or a new version): emptying the cores"
    for core in "${CORES[@]}"; do rm -rf "${home:?}/$core/data"; done
  fi
  echo "$digest" >"$home/configset.sha"
  for core in "${CORES[@]}"; do
    mkdir -p "$home/$core"
    printf 'name=%s\nconfigSet=ckan\n' "$core" >"$home/$core/core.properties"
  done
  java_cmd "$SOLR_HEAP" standalone "$home" "$SOLR_PORT"
  say "starting Solr (standalone, schema $SOLR_SCHEMA) on 127.0.0.1:$SOLR_PORT (log: $log)"
  start_jvm
  for core in "${CORES[@]}"; do
    wait_for_url "http://127.0.0.1:$SOLR_PORT/solr/$core/admin/ping" "${SOLR_START_TIMEOUT:-180}" \
      "Solr core $core" "$log" "$(cat "$pidfile")"
  done
  say "Solr $(solr_info "$SOLR_PORT") answers: solr_url = http://127.0.0.1:$SOLR_PORT/solr/ckan"
}

start_cloud() {
  local base="$SOLR_DIR/cloud" port heap
  # MiniSolrCloudCluster sets up its nodes anew: the cloud starts empty
  # (ckan search-index rebuild fills it)
  rm -rf "$base" "$SOLR_DIR/cloud-configset"
  configset "$SOLR_DIR/cloud-configset"
  for port in "$ZK_PORT" "$SOLR_PORT2"; do
    port_free "$port" || die "port $port (ZK_PORT/SOLR_PORT2) is in use: choose others"
  done
  heap=$((SOLR_HEAP * 2))  # two Solr nodes in one JVM
  java_cmd "$heap" cloud "$base" "$ZK_PORT" "$SOLR_PORT,$SOLR_PORT2" "$SOLR_DIR/cloud-configset" ckan \
    "$(IFS=,; echo "${CORES[*]}")" 2 2 "$control_dir"
  say "starting SolrCloud (ZooKeeper 127.0.0.1:$ZK_PORT, nodes on $SOLR_PORT and $SOLR_PORT2, schema $SOLR_SCHEMA; log: $log)"
  start_jvm
  local pid core; pid=$(cat "$pidfile")
  for core in "${CORES[@]}"; do
    for port in "$SOLR_PORT" "$SOLR_PORT2"; do
      wait_for_url "http://127.0.0.1:$port/solr/$core/admin/ping" "${SOLR_START_TIMEOUT:-300}" \
        "SolrCloud collection $core on port $port" "$log" "$pid"
    done
  done
  # the launcher's control channel (node stop|start) opens last
  local deadline=$((SECONDS + ${SOLR_START_TIMEOUT:-300}))
  until grep -q '^launcher: SolrCloud ready' "$log"; do
    [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null \
      || { tail -n 30 "$log" >&2; die "SolrCloud did not report ready (log: $log)"; }
    sleep 0.2
  done
  say "SolrCloud $(solr_info "$SOLR_PORT") answers: collections ${CORES[*]} (2 shards x 2 replicas)"
  say "solr_url = http://127.0.0.1:$SOLR_PORT/solr/ckan"
}

stop_ours() {
  if ours_running; then
    local pid; pid=$(cat "$pidfile")
    say "stopping Solr ($mode, pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      say "Solr ($mode) did not stop within 30s: killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile" "$portfile"
}

# node stop|start N: ask the launcher of our cloud, through its control
# directory, to stop or start node N; waits for its answer
node_ctl() {
  ours_running || die "no SolrCloud started by this script runs (scripts/solr-ctl.sh start --cloud)"
  local id reply deadline=$((SECONDS + ${SOLR_NODE_TIMEOUT:-300}))
  id="$$-$RANDOM"
  rm -f "$control_dir/reply"
  echo "$id $1 $2" >"$control_dir/request.tmp"
  mv "$control_dir/request.tmp" "$control_dir/request"
  say "SolrCloud: $1 node $2"
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ -f "$control_dir/reply" ]; then
      reply=$(cat "$control_dir/reply")
      if [ "${reply%% *}" = "$id" ]; then
        rm -f "$control_dir/reply"
        reply=${reply#* }
        [ "${reply%% *}" = ok ] || die "SolrCloud: $1 node $2 failed: ${reply#* } (log: $log)"
        say "SolrCloud: ${reply#ok }"
        return 0
      fi
    fi
    ours_running || die "SolrCloud (pid $(cat "$pidfile" 2>/dev/null)) ended (log: $log)"
    sleep 0.2
  done
  die "SolrCloud did not $1 node $2 within ${SOLR_NODE_TIMEOUT:-300}s (log: $log)"
}

case "$action" in
  build) build ;;
  node) node_ctl "${node_args[@]}" ;;
  start)
    if ours_running; then
      running_port=$(cat "$portfile" 2>/dev/null || echo "?")
      [ "$running_port" = "$SOLR_PORT" ] \
        || die "Solr ($mode, pid $(cat "$pidfile")) already runs on port $running_port: stop it first, or use SOLR_PORT=$running_port"
      say "Solr ($mode) already running (pid $(cat "$pidfile")): solr_url = http://127.0.0.1:$SOLR_PORT/solr/ckan"
      exit 0
    fi
    rm -f "$pidfile"
    if ! port_free "$SOLR_PORT"; then
      info=$(solr_info "$SOLR_PORT")
      [ -n "$info" ] || die "port $SOLR_PORT is in use by something that is not Apache Solr (pgsolr?): set SOLR_PORT to a free port"
      want=std; [ "$cloud" = 1 ] && want=solrcloud
      [ "${info#* }" = "$want" ] || die "Solr ${info% *} in mode ${info#* } answers on port $SOLR_PORT, not the $mode Solr asked for: set SOLR_PORT to a free port"
      url_answers "http://127.0.0.1:$SOLR_PORT/solr/ckan/admin/ping" \
        || die "Solr ${info% *} answers on port $SOLR_PORT but has no core or collection ckan"
      say "Solr ${info% *} ($mode) already answers on port $SOLR_PORT (not started by this script): using it"
      exit 0
    fi
    build
    # a start that fails (timeout, JVM ended) leaves no JVM behind
    trap '[ $? = 0 ] || stop_ours' EXIT
    if [ "$cloud" = 1 ]; then start_cloud; else start_standalone; fi
    trap - EXIT
    ;;
  stop) stop_ours ;;
  status)
    if ours_running; then
      pid=$(cat "$pidfile")
      echo "Solr $mode running (pid $pid, RSS $(( $(ps -o rss= -p "$pid") / 1024 )) MB): http://127.0.0.1:$(cat "$portfile" 2>/dev/null || echo "$SOLR_PORT")/solr/ckan"
    elif info=$(solr_info "$SOLR_PORT") && [ -n "$info" ]; then
      echo "Solr ${info% *} (${info#* }) answers on port $SOLR_PORT (not started by this script)"
    else
      echo "Solr $mode not running"; exit 1
    fi
    ;;
esac
