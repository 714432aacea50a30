#!/usr/bin/env bash
# A second, loopback-only RabbitMQ node with a TLS listener, for the TLS tests
# (tests/broker/tls.rs). It never touches the node of scripts/rabbitmq.sh.
#   scripts/rabbitmq-tls.sh start   # make certificates, start the node, print the env
#   scripts/rabbitmq-tls.sh stop    # shut this node down (and only it)
#   scripts/rabbitmq-tls.sh status  # exit 0 iff something listens on 127.0.0.1:5671
#
# `start` makes, with openssl, in $PULSE_TLS_DIR (default /tmp/pulse-binding-tls):
#   ca.pem            a test CA that signs the next two
#   server.pem/.key   the listener's certificate, for the DNS name `localhost`
#                     only (no IP address: connecting to 127.0.0.1 must fail)
#   client.pem/.key   a client certificate, which the listener requires
#   other-ca.pem      a CA that signed nothing here (an untrusted root)
# The listener (127.0.0.1:5671) verifies peers and refuses clients without a
# certificate; the node has no plain AMQP listener. Prints the variables the
# tests read: PULSE_TLS_TEST_URL and PULSE_TLS_TEST_DIR.
# Idempotent, non-interactive; needs rabbitmq-server (scripts/rabbitmq.sh
# start installs it) and openssl.
set -euo pipefail

DIR=${PULSE_TLS_DIR:-/tmp/pulse-binding-tls}
PORT=5671
TIMEOUT=120

export RABBITMQ_NODENAME=rabbit-tls@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=5670 # unused: the config has no plain listener
export RABBITMQ_DIST_PORT=25680
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_MNESIA_BASE=$DIR/node/mnesia
export RABBITMQ_LOG_BASE=$DIR/node/log
export RABBITMQ_PID_FILE=$DIR/node/rabbit-tls.pid
export RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/node/enabled_plugins
export RABBITMQ_CONFIG_FILE=$DIR/node/rabbitmq.conf
export RABBITMQ_ADVANCED_CONFIG_FILE=$DIR/node/advanced.config

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# A key and a certificate signed by the CA `$2`, with subjectAltName `$3`.
issue() {
  local name=$1 ca=$2 san=$3 usage=$4
  openssl req -new -newkey rsa:2048 -nodes -keyout "$DIR/$name.key" \
    -subj "/CN=pulse-binding test $name" -out "$DIR/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$san" "$usage" \
    >"$DIR/$name.ext"
  openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/$ca.pem" -CAkey "$DIR/$ca.key" \
    -CAcreateserial -days 30 -sha256 -extfile "$DIR/$name.ext" -out "$DIR/$name.pem" 2>/dev/null
  rm -f "$DIR/$name.csr" "$DIR/$name.ext"
}

certificates() {
  for ca in ca other-ca; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
      -keyout "$DIR/$ca.key" -out "$DIR/$ca.pem" -subj "/CN=pulse-binding test $ca" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  done
  issue server ca "DNS:localhost" serverAuth
  issue client ca "DNS:pulse-binding-test-client" clientAuth
}

start() {
  command -v rabbitmq-server >/dev/null || { echo "rabbitmq-tls.sh: run scripts/rabbitmq.sh start first (it installs rabbitmq-server)" >&2; exit 1; }
  command -v openssl >/dev/null || { echo "rabbitmq-tls.sh: needs openssl" >&2; exit 1; }
  if listening; then
    echo "rabbitmq-tls.sh: a broker is already listening on 127.0.0.1:$PORT" >&2
  else
    rm -rf "$DIR/node" # a fresh node: no state from an earlier run
    mkdir -p "$DIR/node/mnesia" "$DIR/node/log"
    certificates
    echo "[]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
    echo "[]." >"$RABBITMQ_ADVANCED_CONFIG_FILE"
    cat >"$RABBITMQ_CONFIG_FILE" <<EOF
listeners.tcp = none
listeners.ssl.1 = 127.0.0.1:$PORT
ssl_options.cacertfile = $DIR/ca.pem
ssl_options.certfile = $DIR/server.pem
ssl_options.keyfile = $DIR/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
loopback_users.guest = true
EOF
    # As root, the Debian wrapper runs the node as the `rabbitmq` user.
    if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
      chown -R rabbitmq:rabbitmq "$DIR"
    fi
    echo "rabbitmq-tls.sh: starting $RABBITMQ_NODENAME (TLS on 127.0.0.1:$PORT)" >&2
    local t0=$SECONDS
    rabbitmq-server -detached </dev/null
    local deadline=$((SECONDS + TIMEOUT))
    until rabbitmq-diagnostics -n "$RABBITMQ_NODENAME" -q check_port_listener "$PORT" >/dev/null 2>&1; do
      if ((SECONDS >= deadline)); then
        echo "rabbitmq-tls.sh: ERROR: no listener on 127.0.0.1:$PORT after ${TIMEOUT}s; see $RABBITMQ_LOG_BASE" >&2
        exit 1
      fi
      sleep 0.5
    done
    echo "rabbitmq-tls.sh: ready after $((SECONDS - t0))s" >&2
  fi
  echo "PULSE_TLS_TEST_URL=amqps://guest:guest@localhost:$PORT"
  echo "PULSE_TLS_TEST_DIR=$DIR"
}

stop() {
  command -v rabbitmqctl >/dev/null 2>&1 || return 0
  if listening; then
    rabbitmqctl -n "$RABBITMQ_NODENAME" shutdown </dev/null
  else
    echo "rabbitmq-tls.sh: no broker listening on 127.0.0.1:$PORT" >&2
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if listening; then echo running; else echo stopped; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
