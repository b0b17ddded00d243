#!/usr/bin/env bash
# Posts examples/cart.json to a running `make run`, signed with the demo
# secret, with a fresh event id and occurred_at = now.
set -euo pipefail
url=${1:-http://localhost:8080/webhooks/generic}
secret=${CARTRECOVERY_PLATFORMS_GENERIC_SECRET:-demo-secret}
here=$(dirname "$0")
body=$(sed -e "s/OCCURRED_AT/$(date -u +%Y-%m-%dT%H:%M:%SZ)/" -e "s/evt-demo-1/evt-$(date +%s%N)/" "$here/cart.json")
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
# `make run` compiles first: wait up to a minute for the service to be ready.
ready=${url%/webhooks/*}/readyz
for _ in $(seq 60); do
  curl -fsS -o /dev/null "$ready" 2>/dev/null && break
  sleep 1
done
curl -sS -X POST "$url" -H 'Content-Type: application/json' -H "X-Cartrecovery-Signature: sha256=$sig" --data-binary "$body"
echo
