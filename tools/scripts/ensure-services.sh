#!/usr/bin/env bash
# Starts PostgreSQL and RabbitMQ on 127.0.0.1 when they are not running, and enables the RabbitMQ
# management API that tests use to create a private vhost per run. Safe to run repeatedly.
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
echo "PostgreSQL and RabbitMQ are up"
