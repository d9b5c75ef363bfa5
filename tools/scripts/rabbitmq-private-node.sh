#!/usr/bin/env bash
# Starts (or stops, with `stop`) a second RabbitMQ node on this machine for measuring the broker's CPU per message
# alone: `probe@localhost`, AMQP on 127.0.0.1:5673, management API on 15673, its files under $DIR. The shared node on
# 5672 carries every helper's tests and benches, and the ingest bench's "RabbitMQ (beam.smp, shared)" figure sums every
# beam.smp; this node's process id is in $DIR/pid. `MANAGEMENT=0` starts it without the management plugin
# (collect_statistics = none). Run the benches against it with
#   TEST_RABBITMQ_ADMIN_URL=http://guest:guest@127.0.0.1:15673 TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5673
set -euo pipefail
DIR=${DIR:-/tmp/rmqprobe}
if [[ "${1:-}" == stop ]]; then
  rabbitmqctl -n probe@localhost stop
  exit 0
fi
mkdir -p "$DIR/mnesia" "$DIR/log"
printf 'listeners.tcp.local = 127.0.0.1:5673\nmanagement.tcp.port = 15673\nmanagement.tcp.ip = 127.0.0.1\n' > "$DIR/rabbitmq.conf"
if [[ "${MANAGEMENT:-1}" == 0 ]]; then echo '[].' > "$DIR/enabled_plugins"; else echo '[rabbitmq_management].' > "$DIR/enabled_plugins"; fi
chown -R rabbitmq:rabbitmq "$DIR"
su rabbitmq -s /bin/bash -c "RABBITMQ_NODENAME=probe@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_DIST_PORT=25673 \
  RABBITMQ_CONFIG_FILE=$DIR/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins RABBITMQ_MNESIA_BASE=$DIR/mnesia \
  RABBITMQ_LOG_BASE=$DIR/log RABBITMQ_PID_FILE=$DIR/pid HOME=/var/lib/rabbitmq rabbitmq-server -detached"
for _ in $(seq 1 90); do (exec 3<>/dev/tcp/127.0.0.1/5673) 2>/dev/null && break; sleep 1; done
(exec 3<>/dev/tcp/127.0.0.1/5673) 2>/dev/null || { echo "probe@localhost did not start on 127.0.0.1:5673" >&2; exit 1; }
echo "probe@localhost up on 127.0.0.1:5673, beam.smp pid $(cat "$DIR/pid")"
