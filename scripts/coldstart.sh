#!/usr/bin/env bash
# Measures a first run on this machine: with a throwaway build cache (the
# module cache is kept: downloads are not what this measures), the seconds
# from nothing to /readyz through `make run`, then the stripped binary's
# size. Used by `make coldstart`.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${COLDSTART_PORT:-18089}
tmp=$(mktemp -d)
log=$tmp/run.log
pid=
cleanup() {
  [[ -n $pid ]] && kill -- -"$pid" 2>/dev/null || true
  chmod -R u+w "$tmp" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
go mod download
echo "coldstart: empty build cache in $tmp; timing make run until /readyz answers..."
start=$(date +%s.%N)
# setsid: the whole make/go/binary group is stopped at the end.
GOCACHE=$tmp/cache CARTRECOVERY_HTTP_ADDR=127.0.0.1:$port BIN=$tmp/cartrecovery \
  setsid make --no-print-directory run >"$log" 2>&1 &
pid=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "coldstart: make run exited before it was ready:"; tail -20 "$log"; exit 1
  fi
  if (( $(date +%s) - ${start%.*} > 1200 )); then
    echo "coldstart: not ready after 20 minutes"; tail -20 "$log"; exit 1
  fi
  sleep 0.5
done
end=$(date +%s.%N)
size=$(stat -c %s "$tmp/cartrecovery")
pkgs=$(grep -cE '^[A-Za-z0-9._/~-]+$' "$log" || true)
awk -v s="$start" -v e="$end" -v b="$size" -v p="$pkgs" 'BEGIN {
  printf "coldstart: ready in %.0f s from an empty build cache (%d packages compiled); binary %.1f MB stripped (%d bytes)\n", e - s, p, b / 1e6, b }'
