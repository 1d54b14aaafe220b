#!/usr/bin/env bash
# ensure-services.sh — make sure the servers the test tiers use are answering:
#   RabbitMQ   127.0.0.1:5672  (bus contract suite, dist/test/bus)
#   PostgreSQL 127.0.0.1:5432  (functional suite on PostgreSQL, database "test")
# Starts one that does not answer with the machine's own commands and waits for it.
# Quiet when both answer. Exits non-zero when one cannot be brought up.
#
# Usage: bash scripts/ensure-services.sh [rabbitmq] [postgres]   (default: both)
set -euo pipefail

WAIT_SECONDS=${NUBO_SERVICE_WAIT:-60}

answers() { # host port
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

wait_port() { # name host port
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        answers "$2" "$3" && return 0
        sleep 1
    done
    echo "ensure-services: $1 still not answering on $2:$3 after ${WAIT_SECONDS}s" >&2
    return 1
}

ensure_rabbitmq() {
    answers 127.0.0.1 5672 && return 0
    command -v rabbitmq-server >/dev/null || {
        echo "ensure-services: RabbitMQ is not answering on 127.0.0.1:5672 and rabbitmq-server is not installed" >&2
        return 1
    }
    echo "ensure-services: starting RabbitMQ (rabbitmq-server -detached)"
    rabbitmq-server -detached </dev/null || true
    wait_port RabbitMQ 127.0.0.1 5672
    echo "ensure-services: RabbitMQ answers on 127.0.0.1:5672"
}

ensure_postgres() {
    answers 127.0.0.1 5432 || start_postgres || return 1
    ensure_test_database
}

# The PostgreSQL suites use postgres://postgres@127.0.0.1:5432/test (the machine's trust auth).
ensure_test_database() {
    command -v psql >/dev/null || return 0
    local have
    have=$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" 2>/dev/null </dev/null) || {
        echo "ensure-services: warning: cannot query PostgreSQL as user postgres on 127.0.0.1:5432" >&2
        return 0
    }
    [ "$have" = 1 ] && return 0
    echo "ensure-services: creating PostgreSQL database 'test'"
    psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' </dev/null
}

start_postgres() {
    command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] || {
        echo "ensure-services: PostgreSQL is not answering on 127.0.0.1:5432 and no cluster is installed" >&2
        return 1
    }
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    echo "ensure-services: starting PostgreSQL $version (pg_ctlcluster --skip-systemctl-redirect $version main start)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start </dev/null || true
    wait_port PostgreSQL 127.0.0.1 5432
    echo "ensure-services: PostgreSQL answers on 127.0.0.1:5432"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(rabbitmq postgres)
rc=0
for s in "${want[@]}"; do
    case "$s" in
        rabbitmq) ensure_rabbitmq || rc=1 ;;
        postgres) ensure_postgres || rc=1 ;;
        *) echo "ensure-services: unknown service '$s' (rabbitmq, postgres)" >&2; exit 2 ;;
    esac
done
exit $rc
