#!/usr/bin/env bash
# Starts a local Redis Cluster of three masters (no replicas, no persistence)
# in a temp dir on ports 7001-7003 (CLUSTER_PORTS="7001 7002 7003" overrides,
# spaces or commas), then builds bin/cartrecovery and serves CONFIG
# (config/demo.yaml) on that cluster. Ctrl-C stops the service and the nodes
# and removes the dir. Used by `make run-cluster`.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
BIN=${BIN:-bin/cartrecovery}
CONFIG=${CONFIG:-config/demo.yaml}
IFS=', ' read -r -a ports <<<"${CLUSTER_PORTS:-7001 7002 7003}"
for p in "${ports[@]}"; do
  [[ $p =~ ^[0-9]+$ ]] || { echo "run-cluster: CLUSTER_PORTS: '$p' is not a port" >&2; exit 2; }
done
if ((${#ports[@]} < 3)); then
  echo "run-cluster: CLUSTER_PORTS needs at least 3 ports (3 masters), got '${CLUSTER_PORTS:-}'" >&2
  exit 2
fi
for cmd in redis-server redis-cli; do
  command -v "$cmd" >/dev/null || { echo "run-cluster: $cmd not found on PATH (make redis-server installs it)" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/cartrecovery-cluster-XXXXXX")
pids=()
svc=
cleanup() {
  if [[ -n $svc ]]; then kill "$svc" 2>/dev/null || true; wait "$svc" 2>/dev/null || true; fi
  if ((${#pids[@]})); then
    kill -9 "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "run-cluster: $*" >&2
  for f in "$dir"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}

# Wait until the node on port $1 answers as process $2 (not someone else's).
wait_node() {
  local port=$1 pid=$2 i out
  for ((i = 0; i < 250; i++)); do
    kill -0 "$pid" 2>/dev/null || fail "redis-server on port $port exited"
    if out=$(redis-cli -p "$port" info server 2>/dev/null) && [[ $out == *process_id:* ]]; then
      [[ $out == *"process_id:$pid"$'\r'* ]] && return 0
      fail "port $port is served by another redis-server"
    fi
    sleep 0.02
  done
  fail "redis-server on port $port not ready after 5 s"
}

addrs=()
for p in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    fail "port $p is already in use (set CLUSTER_PORTS)"
  fi
  redis-server --port "$p" --cluster-enabled yes --cluster-config-file "$dir/nodes-$p.conf" \
    --cluster-node-timeout 2000 --save "" --appendonly no --maxmemory-policy noeviction \
    --dir "$dir" --bind 127.0.0.1 --logfile "$dir/redis-$p.log" &
  pids+=($!)
  addrs+=("127.0.0.1:$p")
done
for i in "${!ports[@]}"; do wait_node "${ports[$i]}" "${pids[$i]}"; done

redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
  fail "redis-cli --cluster create failed: $(tail -n 5 "$dir/create.log")"

# Every node must see the cluster ok, with all 16384 slots assigned.
for p in "${ports[@]}"; do
  for ((i = 0; ; i++)); do
    info=$(redis-cli -p "$p" cluster info 2>/dev/null | tr -d '\r') || true
    [[ $info == *cluster_state:ok* && $info == *cluster_slots_assigned:16384* ]] && break
    ((i < 300)) || fail "node $p not ok after 30 s: $info"
    sleep 0.1
  done
done

url="redis://${addrs[0]}?addr=${addrs[1]}"
for a in "${addrs[@]:2}"; do url+="&addr=$a"; done
echo "run-cluster: Redis Cluster of ${#addrs[@]} masters up on ${addrs[*]} (dir $dir); building $BIN and serving $CONFIG on it with CARTRECOVERY_REDIS_MODE=cluster (Ctrl-C stops both)"

# The Makefile's run flags; `make run-cluster` passes its LDFLAGS.
build=(-trimpath)
if [[ -n ${LDFLAGS:-} ]]; then build+=(-ldflags "$LDFLAGS"); fi
CGO_ENABLED=0 "$GO" build "${build[@]}" -o "$BIN" ./cmd/cartrecovery

CARTRECOVERY_REDIS_URL=$url CARTRECOVERY_REDIS_MODE=cluster "$BIN" serve --config "$CONFIG" &
svc=$!
status=0
wait "$svc" || status=$?
svc=
exit "$status"
