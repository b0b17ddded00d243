#!/usr/bin/env bash
# Posts examples/cart.json to a running `make run`, signed with the demo
# secret, with a fresh event id and occurred_at = now.
set -euo pipefail
url=${1:-http://localhost:8080/webhooks/generic}
secret=${CARTRECOVERY_PLATFORMS_GENERIC_SECRET:-demo-secret}
here=$(dirname "$0")
body=$(sed -e "s/OCCURRED_AT/$(date -u +%Y-%m-%dT%H:%M:%SZ)/" -e "s/evt-demo-1/evt-$(date +%s%N)/" "$here/cart.json")
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
# `make run` compiles first (minutes on a small machine): wait while the
# service is not up yet, saying so every few seconds, for up to READY_WAIT s.
ready=${url%/webhooks/*}/readyz
wait_max=${READY_WAIT:-900}
start=$(date +%s)
next=0
until curl -fsS -o /dev/null "$ready" 2>/dev/null; do
  waited=$(( $(date +%s) - start ))
  if (( waited >= wait_max )); then
    echo "gave up after ${waited}s: nothing answers at $ready. Is \`make run\` running (and done compiling)?" >&2
    exit 1
  fi
  if (( waited >= next )); then
    echo "waiting for the service at $ready (still compiling or starting; ${waited}s so far)..."
    next=$(( waited + 5 ))
  fi
  sleep 1
done
curl -sS -X POST "$url" -H 'Content-Type: application/json' -H "X-Cartrecovery-Signature: sha256=$sig" --data-binary "$body"
echo
