#!/usr/bin/env bash
# Starts PostgreSQL, RabbitMQ and Redis on 127.0.0.1 when they are not running, and enables the RabbitMQ
# management API that tests use to create a private vhost per run. Safe to run repeatedly.
# Redis holds the gateway's rate-limit counters, shared by its replicas.
set -euo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_up; then
  echo "starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
  for _ in $(seq 1 60); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
fi
psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null

rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbit_up; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  for _ in $(seq 1 90); do rabbit_up && break; sleep 1; done
  rabbit_up || { echo "RabbitMQ did not start on 127.0.0.1:5672" >&2; exit 1; }
fi

mgmt_up() { curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; }
if ! mgmt_up; then
  echo "enabling the RabbitMQ management plugin"
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  for _ in $(seq 1 60); do mgmt_up && break; sleep 1; done
  mgmt_up || { echo "RabbitMQ management API did not answer on 127.0.0.1:15672" >&2; exit 1; }
fi
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 && [[ "$reply" == +PONG* ]]) 2>/dev/null; }
if ! redis_up; then
  echo "starting Redis"
  if ! command -v redis-server >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) || { echo "redis-server is not installed and could not be installed" >&2; exit 1; }
  fi
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  redis_up || { echo "Redis did not start on 127.0.0.1:6379" >&2; exit 1; }
fi
echo "PostgreSQL, RabbitMQ and Redis are up"
