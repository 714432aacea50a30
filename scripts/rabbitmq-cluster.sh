#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on loopback for the cluster tests (tests/cluster/).
#   scripts/rabbitmq-cluster.sh start      # install via apt if missing, start and cluster the nodes
#   scripts/rabbitmq-cluster.sh stop       # shut every node down and delete the cluster's data
#   scripts/rabbitmq-cluster.sh kill N     # kill -9 node N (1-3), as a crash would
#   scripts/rabbitmq-cluster.sh restart N  # start node N again (after kill); it rejoins the cluster
#   scripts/rabbitmq-cluster.sh status     # each node's state; exit 0 iff all three run
#   scripts/rabbitmq-cluster.sh freeze N S # SIGSTOP node N for S seconds, then SIGCONT
#   scripts/rabbitmq-cluster.sh ctl N ARGS # rabbitmqctl ARGS against node N
#
# Nodes rabbit-1@localhost .. rabbit-3@localhost listen for AMQP on 127.0.0.1:5673-5675 and
# for Erlang distribution on 127.0.0.1:25673-25675; each has its own data, log, pid and
# enabled-plugins files under $PULSE_CLUSTER_DIR (/tmp/pulse-binding-cluster). They share the
# rabbitmq user's Erlang cookie. The single node rabbit@localhost on 5672 (scripts/rabbitmq.sh)
# is never touched: no `epmd -kill`, no other node names or ports. Idempotent, no systemd.
set -euo pipefail

DIR=${PULSE_CLUSTER_DIR:-/tmp/pulse-binding-cluster}
NODES=(1 2 3)
TIMEOUT=120   # seconds to wait for a node's AMQP listener

export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

name() { echo "rabbit-$1@localhost"; }
port() { echo $((5672 + $1)); }

# Runs a command with node N's environment.
with_node() {
  local n=$1
  shift
  RABBITMQ_NODENAME=$(name "$n") \
    RABBITMQ_NODE_PORT=$(port "$n") \
    RABBITMQ_DIST_PORT=$((25672 + n)) \
    RABBITMQ_MNESIA_BASE="$DIR/rabbit-$n/mnesia" \
    RABBITMQ_LOG_BASE="$DIR/rabbit-$n/log" \
    RABBITMQ_PID_FILE="$DIR/rabbit-$n/pid" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/rabbit-$n/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$DIR/rabbit-$n/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/rabbit-$n/advanced.config" \
    "$@"
}

ctl() { local n=$1; shift; with_node "$n" rabbitmqctl -n "$(name "$n")" "$@" </dev/null; }

# Does anything accept TCP on node N's AMQP port?
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$(port "$1")") 2>/dev/null; }

check_node() {
  [[ "${1:-}" =~ ^[123]$ ]] || { echo "rabbitmq-cluster.sh: node must be 1, 2 or 3" >&2; exit 2; }
}

prepare() {
  local n=$1 d="$DIR/rabbit-$n"
  mkdir -p "$d/mnesia" "$d/log"
  [[ -f "$d/enabled_plugins" ]] || echo "[]." >"$d/enabled_plugins"
  # Whatever /etc/rabbitmq says, this node stays on loopback with its own ports.
  [[ -f "$d/rabbitmq.conf" ]] || cat >"$d/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$(port "$n")
loopback_users.guest = true
EOF
  # At-least-once dead-lettering (handler mode's retry queues) sends a message
  # again when the target queue has not confirmed it within this time; the
  # broker's default (3 min) would hold a retry caught by a node's death that
  # long, longer than the tests wait.
  echo "[{rabbit, [{dead_letter_worker_publisher_confirm_timeout, 5000}]}]." >"$d/advanced.config"
  # The server runs as the rabbitmq user (Debian's wrapper), which must own its files.
  if id rabbitmq >/dev/null 2>&1; then chown -R rabbitmq:rabbitmq "$DIR"; fi
}

# The nodes must share one Erlang cookie: the rabbitmq user's, which the server and
# the CLI (run as that user by Debian's wrappers) read. On a fresh machine, make it
# once here rather than let three nodes starting at once race to create it.
ensure_cookie() {
  local home
  home=$(getent passwd rabbitmq | cut -d: -f6) || return 0
  [[ -n "$home" && ! -f "$home/.erlang.cookie" ]] || return 0
  local random
  random=$(head -c 64 /dev/urandom | od -An -tx1 | tr -dc 'a-f0-9')
  mkdir -p "$home"
  (umask 077 && printf '%s' "${random:0:40}" >"$home/.erlang.cookie")
  chown rabbitmq:rabbitmq "$home/.erlang.cookie"
  chmod 400 "$home/.erlang.cookie"
}

# Starts node N's VM (detached) unless it listens already.
launch() {
  local n=$1
  if listening "$n"; then return 0; fi
  prepare "$n"
  echo "rabbitmq-cluster.sh: starting $(name "$n") on 127.0.0.1:$(port "$n")" >&2
  with_node "$n" rabbitmq-server -detached </dev/null
}

# Waits for node N's AMQP listener.
await() {
  local n=$1 deadline=$((SECONDS + TIMEOUT))
  until with_node "$n" rabbitmq-diagnostics -n "$(name "$n")" -q check_port_listener "$(port "$n")" \
    >/dev/null 2>&1 </dev/null; do
    if ((SECONDS >= deadline)); then
      echo "rabbitmq-cluster.sh: ERROR: no listener on 127.0.0.1:$(port "$n") after ${TIMEOUT}s;" \
        "see $DIR/rabbit-$n/log/" >&2
      exit 1
    fi
    sleep 0.5
  done
}

# Whether node N counts node 1 among its running cluster peers.
clustered() {
  ctl "$1" -q cluster_status --formatter json 2>/dev/null | grep -q "\"running_nodes\":\[[^]]*\"$(name 1)\""
}

start() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "rabbitmq-cluster.sh: installing rabbitmq-server via apt" >&2
    apt-get update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server </dev/null
  fi
  ensure_cookie
  local t0=$SECONDS
  for n in "${NODES[@]}"; do launch "$n"; done
  for n in "${NODES[@]}"; do await "$n"; done
  for n in 2 3; do
    if ! clustered "$n"; then
      echo "rabbitmq-cluster.sh: joining $(name "$n") to $(name 1)" >&2
      ctl "$n" -q stop_app
      ctl "$n" -q join_cluster "$(name 1)"
      ctl "$n" -q start_app
      await "$n"
    fi
  done
  echo "rabbitmq-cluster.sh: cluster ready after $((SECONDS - t0))s" >&2
  urls
}

urls() {
  local list=()
  for n in "${NODES[@]}"; do list+=("amqp://guest:guest@127.0.0.1:$(port "$n")"); done
  (IFS=,; echo "PULSE_CLUSTER_URLS=${list[*]}")
}

pid_of() { cat "$DIR/rabbit-$1/pid" 2>/dev/null || true; }

stop() {
  command -v rabbitmqctl >/dev/null 2>&1 || return 0
  # The last node stopped must be the first started next time; we delete the data
  # instead, so the next start makes a fresh cluster.
  for n in 3 2 1; do
    if listening "$n"; then
      ctl "$n" -q shutdown || true
    fi
    local pid
    pid=$(pid_of "$n")
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi
  done
  rm -rf "$DIR"
  echo "rabbitmq-cluster.sh: stopped" >&2
}

kill_node() {
  check_node "$1"
  local pid
  pid=$(pid_of "$1")
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "rabbitmq-cluster.sh: $(name "$1") is not running" >&2
    exit 1
  fi
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  echo "rabbitmq-cluster.sh: killed $(name "$1") (pid $pid)" >&2
}

restart() {
  check_node "$1"
  local t0=$SECONDS
  launch "$1"
  await "$1"
  ctl "$1" -q await_startup
  until clustered "$1"; do
    if ((SECONDS - t0 >= TIMEOUT)); then
      echo "rabbitmq-cluster.sh: ERROR: $(name "$1") did not rejoin" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "rabbitmq-cluster.sh: $(name "$1") back in the cluster after $((SECONDS - t0))s" >&2
}

freeze() {
  check_node "$1"
  local pid
  pid=$(pid_of "$1")
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "rabbitmq-cluster.sh: $(name "$1") is not running" >&2
    exit 1
  fi
  kill -STOP "$pid"
  # Whatever happens to this script, the node is thawed.
  trap 'kill -CONT "$pid" 2>/dev/null' EXIT
  sleep "${2:?freeze needs a number of seconds}"
  kill -CONT "$pid"
  echo "rabbitmq-cluster.sh: froze $(name "$1") (pid $pid) for $2 s" >&2
}

status() {
  local all=0
  for n in "${NODES[@]}"; do
    if listening "$n"; then
      echo "$(name "$n") 127.0.0.1:$(port "$n") running"
    else
      echo "$(name "$n") 127.0.0.1:$(port "$n") stopped"
      all=1
    fi
  done
  return $all
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill_node "${2:-}" ;;
  restart) restart "${2:-}" ;;
  status) status ;;
  urls) urls ;;
  freeze) freeze "${2:-}" "${3:-}" ;;
  ctl) check_node "${2:-}"; n=$2; shift 2; ctl "$n" "$@" ;;
  *) echo "usage: $0 start|stop|kill N|restart N|freeze N S|ctl N ARGS|status|urls" >&2; exit 2 ;;
esac
