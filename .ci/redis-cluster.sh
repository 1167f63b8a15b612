#!/usr/bin/env bash
# A private 3-master Redis Cluster on free ports, for the cluster store tests.
#
#   .ci/redis-cluster.sh start DIR   start it and print REDIS_CLUSTER_URL=...
#   .ci/redis-cluster.sh stop DIR    stop it, by the PIDs it wrote into DIR/pids
#
# DIR gets one working directory per node. For example:
#   export "$(.ci/redis-cluster.sh start /tmp/cluster)"
#   GREEN_TG_REQUIRE_REDIS=1 python -m pytest -m redis tests/stores
#   .ci/redis-cluster.sh stop /tmp/cluster
set -euo pipefail

NODES=3

# A free port P whose cluster bus port P+10000 is free too (so P <= 55535).
free_port() {
    python3 - <<'PY'
import random
import socket

while True:
    port = random.randint(20000, 55535)
    try:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", port))
            b.bind(("127.0.0.1", port + 10000))
    except OSError:
        continue
    print(port)
    break
PY
}

# until_reply PORT TEXT COMMAND...: poll the node until COMMAND's reply holds TEXT.
until_reply() {
    local port="$1" text="$2" _
    shift 2
    for _ in $(seq 1 300); do
        if redis-cli -p "$port" "$@" 2>/dev/null | grep -q "$text"; then
            return 0
        fi
        sleep 0.1
    done
    echo "redis on port $port: '$*' never answered $text" >&2
    return 1
}

start() {
    local dir="$1" port i
    local -a ports=() seeds=()
    mkdir -p "$dir"
    : >"$dir/pids"
    trap 'stop "$dir"' ERR  # a node that failed to start: stop the others
    for i in $(seq 1 "$NODES"); do
        port="$(free_port)"
        mkdir -p "$dir/$i"
        # No output on our stdout: `$(... start DIR)` would wait for it to close.
        (cd "$dir/$i" && exec redis-server --port "$port" --bind 127.0.0.1 \
            --cluster-enabled yes --cluster-config-file nodes.conf \
            --cluster-node-timeout 5000 --save "" --appendonly no \
            --logfile redis.log) </dev/null >/dev/null 2>&1 &
        echo "$!" >>"$dir/pids"
        ports+=("$port")
        seeds+=("127.0.0.1:$port")
    done
    for port in "${ports[@]}"; do
        until_reply "$port" PONG ping
    done
    redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 --cluster-yes \
        </dev/null >"$dir/create.log" 2>&1
    for port in "${ports[@]}"; do
        until_reply "$port" "cluster_state:ok" cluster info
    done
    echo "REDIS_CLUSTER_URL=redis+cluster://127.0.0.1:${ports[0]}"
}

stop() {
    local dir="$1" pid
    [ -f "$dir/pids" ] || return 0
    while read -r pid; do
        kill "$pid" 2>/dev/null || true
    done <"$dir/pids"
    while read -r pid; do
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    done <"$dir/pids"
    rm -f "$dir/pids"
}

case "${1:-}" in
    start) start "${2:?usage: $0 start DIR}" ;;
    stop) stop "${2:?usage: $0 stop DIR}" ;;
    *)
        echo "usage: $0 start|stop DIR" >&2
        exit 2
        ;;
esac
