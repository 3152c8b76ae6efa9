# Sourced by the benchmark scripts: checks the Redis tools, builds the release binary and
# starts redis-server on $redis_port and `wasmcache serve` on $wasmcache_port (loopback
# only, extra arguments passed to serve; both started under $SERVER_PREFIX if set, e.g.
# "taskset -c 1"), sets $redis_pid and $wasmcache_pid, stops both
# on exit, and waits until both answer PING.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
for tool in redis-server redis-benchmark redis-cli; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: guest-examples/setup-toolchains.sh redis" >&2; exit 127; }
done
cargo build --release --quiet -p wasmcache --bin wasmcache --manifest-path "$root/Cargo.toml"
redis_dir="$(mktemp -d)"
${SERVER_PREFIX:-} redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$redis_dir" --daemonize no >/dev/null &
redis_pid=$!
${SERVER_PREFIX:-} "$root/target/release/wasmcache" serve --listen "127.0.0.1:$wasmcache_port" "$@" 2>/dev/null &
wasmcache_pid=$!
trap 'kill $redis_pid $wasmcache_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$redis_dir"' EXIT
for port in $redis_port $wasmcache_port; do
    for _ in $(seq 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
