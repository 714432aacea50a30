#!/usr/bin/env bash
# Install (if needed) and run a loopback-only RabbitMQ node for the tests.
#   scripts/rabbitmq.sh start   # install via apt if missing, start unless already up
#   scripts/rabbitmq.sh stop    # shut the node down and stop epmd
#   scripts/rabbitmq.sh status  # exit 0 iff something listens on 127.0.0.1:5672
# Idempotent, non-interactive (works under CI=true with no stdin), no systemd needed.
set -euo pipefail

# rabbitmq-server, rabbitmqctl and rabbitmq-diagnostics all read these.
export RABBITMQ_NODENAME=rabbit@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

PORT=5672
TIMEOUT=120   # seconds to wait for the AMQP listener

# Cheap check: does anything accept TCP on 127.0.0.1:5672?
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

start() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "rabbitmq.sh: installing rabbitmq-server via apt" >&2
    apt-get update </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server </dev/null
  fi
  if listening; then
    echo "rabbitmq.sh: a broker is already listening on 127.0.0.1:$PORT" >&2
  else
    echo "rabbitmq.sh: starting $RABBITMQ_NODENAME" >&2
    local t0=$SECONDS
    rabbitmq-server -detached </dev/null
    # Not 'rabbitmqctl await_startup': it fails until the node has registered.
    local deadline=$((SECONDS + TIMEOUT))
    until rabbitmq-diagnostics -q check_port_listener "$PORT" >/dev/null 2>&1; do
      if ((SECONDS >= deadline)); then
        echo "rabbitmq.sh: ERROR: no listener on 127.0.0.1:$PORT after ${TIMEOUT}s;" \
             "see /var/log/rabbitmq/" >&2
        exit 1
      fi
      sleep 0.5
    done
    echo "rabbitmq.sh: ready after $((SECONDS - t0))s" >&2
  fi
  # The default guest/guest user may log in from loopback; no plugins are needed.
  echo "PULSE_TEST_URL=amqp://guest:guest@127.0.0.1:$PORT"
}

stop() {
  command -v rabbitmqctl >/dev/null 2>&1 || return 0   # never installed: nothing runs
  if listening; then
    rabbitmqctl shutdown </dev/null
  else
    echo "rabbitmq.sh: no broker listening on 127.0.0.1:$PORT" >&2
  fi
  epmd -kill >/dev/null 2>&1 || true   # epmd outlives the node; harmless if absent
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if listening; then echo running; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
