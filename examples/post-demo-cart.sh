#!/usr/bin/env bash
# Posts a demo event to a running `make run`, signed with the demo secret:
#
#   post-demo-cart.sh [URL]          examples/cart.json as a new cart: a fresh event id,
#                                    cart id and customer address every run (a customer
#                                    reminded within rules.cooldown would wait), dated now
#   post-demo-cart.sh --order [URL]  an order.created for the last demo cart, which stops
#                                    its reminders (CART=<id> for another cart)
#
# The last demo cart is remembered in outbox/.last-demo-cart (DEMO_STATE).
set -euo pipefail
here=$(dirname "$0")
kind=cart
if [[ ${1:-} == --order ]]; then
  kind=order
  shift
fi
url=${1:-http://localhost:8080/webhooks/generic}
secret=${CARTRECOVERY_PLATFORMS_GENERIC_SECRET:-demo-secret}
state=${DEMO_STATE:-$here/../outbox/.last-demo-cart}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
stamp=$(date +%s)

if [[ $kind == cart ]]; then
  cart=demo-cart-$stamp
  email=ana+$stamp@example.com
  body=$(sed -e "s/OCCURRED_AT/$now/" -e "s/evt-demo-1/evt-$(date +%s%N)/" \
             -e "s/demo-cart-1/$cart/g" -e "s/ana@example.com/$email/" "$here/cart.json")
else
  cart=${CART:-}
  email=
  if [[ -z $cart ]]; then
    if [[ ! -s $state ]]; then
      echo "no demo cart to order: run \`make demo-cart\` first, or name one: make demo-order CART=<cart id>" >&2
      exit 1
    fi
    read -r cart email <"$state"
  fi
  customer=
  [[ -n $email ]] && customer=',"customer":{"email":"'$email'"}'
  body='{"id":"evt-order-'$(date +%s%N)'","type":"order.created","occurred_at":"'$now'","cart":{"id":"'$cart'"}'$customer',"order":{"id":"o-'$cart'","cart_id":"'$cart'","total":"59.90","currency":"EUR"}}'
fi
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
if [[ $kind == cart ]]; then
  echo "posting cart $cart of $email"
else
  echo "posting an order for cart $cart"
fi
answer=$(curl -sS -X POST "$url" -H 'Content-Type: application/json' -H "X-Cartrecovery-Signature: sha256=$sig" --data-binary "$body")
echo "$answer"
if [[ $kind == cart && $answer == *accepted* ]]; then
  mkdir -p "$(dirname "$state")"
  echo "$cart $email" >"$state"
  echo "make demo-order posts its order (stopping its reminders)"
fi
