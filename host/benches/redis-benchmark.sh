#!/usr/bin/env bash
# wasmcache serve against redis-server, on this machine, in one run: redis-benchmark's
# SET and GET with 64-byte values, 50 clients, random keys out of 100 000, without and with
# pipelining (-P 1 and -P 16), each row alternating the two servers, ROUNDS times (default
# 2). Prints requests per second, p99 latency, and how busy the benchmark client kept its
# own core (user + system CPU over wall time: near 100 % means the client, not the server,
# set the pace). Both servers listen on loopback only.
#
#   host/benches/redis-benchmark.sh            both servers free to use both cores
#   host/benches/redis-benchmark.sh --pinned   each server on core 1 (`taskset -c 1`,
#                                              wasmcache with --shards 1), the benchmark
#                                              on core 0: the per-core comparison
#   host/benches/redis-benchmark.sh [--pinned] -- ARGS...
#                                              ARGS go to `wasmcache serve` too, e.g.
#                                              `-- --threads 1`
#
# Needs: guest-examples/setup-toolchains.sh redis
set -euo pipefail
redis_port=6399
wasmcache_port=6398
rounds=${ROUNDS:-2}
requests=${REQUESTS:-200000}
pin_bench=()
serve_args=()
mode=""
if [ "${1:-}" = "--pinned" ]; then
    export SERVER_PREFIX="taskset -c 1"
    pin_bench=(taskset -c 0)
    serve_args=(--shards 1)
    mode="--pinned"
    shift
fi
if [ "${1:-}" = "--" ]; then
    shift
    serve_args+=("$@")
elif [ $# -gt 0 ]; then
    echo "usage: $0 [--pinned] [-- SERVE_ARGS...]" >&2
    exit 2
fi
# shellcheck source=servers.sh
source "$(dirname "$0")/servers.sh" "${serve_args[@]}"

# Prints "SET-rps SET-p99 GET-rps GET-p99 client-cpu%" for one server and pipeline depth.
rates() {
    local csv times
    csv="$(mktemp)"
    times="$( { TIMEFORMAT='%U %S %R'; time "${pin_bench[@]}" redis-benchmark -h 127.0.0.1 \
        -p "$1" -t set,get -d 64 -n "$requests" -c 50 -r 100000 -P "$2" --csv \
        >"$csv" 2>/dev/null; } 2>&1)"
    tr -d '"' <"$csv" | awk -F, -v t="$times" '
        $1 == "SET" {s = $2; sp = $7} $1 == "GET" {g = $2; gp = $7}
        END {split(t, c, " "); printf "%s %s %s %s %.0f%%\n", s, sp, g, gp, 100 * (c[1] + c[2]) / c[3]}'
    rm -f "$csv"
}

echo "redis-benchmark -t set,get -d 64 -n $requests -c 50 -r 100000 $mode, serve ${serve_args[*]:-(defaults)}"
echo "(requests/s, p99 ms, benchmark client's CPU over wall time)"
printf "%-4s %-16s %12s %8s %12s %8s %7s\n" "-P" "server" "SET/s" "p99" "GET/s" "p99" "client"
for round in $(seq "$rounds"); do
    for pipeline in 1 16; do
        read -r rs rsp rg rgp rc < <(rates "$redis_port" "$pipeline")
        read -r os osp og ogp oc < <(rates "$wasmcache_port" "$pipeline")
        printf "%-4s %-16s %12s %8s %12s %8s %7s\n" "$pipeline" "redis-server" "$rs" "$rsp" "$rg" "$rgp" "$rc"
        printf "%-4s %-16s %12s %8s %12s %8s %7s\n" "$pipeline" "wasmcache serve" "$os" "$osp" "$og" "$ogp" "$oc"
        awk -v a="$os" -v b="$rs" -v c="$og" -v d="$rg" -v p="$pipeline" -v r="$round" \
            'BEGIN { printf "%-4s %-16s %11.2fx %8s %11.2fx\n", p, "ratio (round " r ")", a / b, "", c / d }'
    done
done
