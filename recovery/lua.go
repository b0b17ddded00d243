package recovery

import "github.com/redis/go-redis/v9"

// All scripts build per-store keys from ARGV[1] (= "<prefix>{<store>}:"), so
// every key of one store shares a hash slot. The due set is global.
//
// The cart's content (items, customer) is a separate string key "d:<id>":
// it is too long for Redis's compact hash encoding (64 bytes a value), and
// keeping it out keeps the cart hash a listpack, about 4x smaller.
//
// Cart hash fields:
//   st    state: active | ordered | deleted
//   at    platform time of the newest applied event (ms), for staleness
//   act   last activity (ms) = min(at, receive time); delays count from it
//   step  index of the next step to run
//   gen   bumped on every activity and step change; tasks carry it
//   rx    receive time of the newest applied update (ms), capped at its
//         platform time + the order grace: compared at the claim with the
//         receive time of an order by the same email (this service's clock)
//   old   "1" when the newest update's activity was older than
//         rules.max_cart_age when it arrived: tracked, never messaged
//   pv    when the previous step finished (ms): spacing of the next one
//   em    normalized email (checked against "ordered:<email>")
//   c0    first seen (ms)
//   oid/oat/otot/ocur  order id, time, total, currency
//   m:<step>:<channel>  send state "claimed|ts", then "sent|ts|claimed|detail",
//                       "failed|ts|claimed|detail" or "skipped|ts|ts|reason"

// updateScript records a cart.updated event. Every delivery id applied to
// the cart is remembered for the dedupe window, so a redelivery is a
// duplicate whatever arrived in between: the first eight as 6-byte
// fingerprints in the cart hash ("w", 48 bytes at most, so the hash stays a
// compact listpack), any further ones in an overflow set (KEYS[5], expiring
// with the dedupe window) that only carts updated that often ever get.
// Platform times (ARGV[5]) only order this cart's own events: an older one
// is stale; an equal one is applied (the later arrival wins). Whether an
// order by the same email on another cart came after this update is decided
// at the claim, on this service's clock ("rx"; grace ARGV[13]).
// A new cart counts as tracked on the day of its event, in the holdout group
// or not (decided by the caller, stored in "ho").
// KEYS: 1 cart, 2 cart data, 3 due, 4 stores set, 5 overflow delivery ids
// ARGV: 1 base, 2 cart id, 3 due member, 4 now, 5 at, 6 data, 7 email,
//
//	8 holdout "1"/"0", 9 delivery fingerprint (6 bytes), 10 cart ttl s,
//	11 dedupe ttl s, 12 max cart age ms, 13 order grace ms, 14 n delays,
//	15.. delays ms, then: day of at, store name, refs
var updateScript = redis.NewScript(`
local base, id, member = ARGV[1], ARGV[2], ARGV[3]
local now, at = tonumber(ARGV[4]), tonumber(ARGV[5])
local fp = ARGV[9]
local cur = redis.call('HMGET', KEYS[1], 'st', 'at', 'step', 'gen', 'pv', 'w')
local w = cur[6] or ''
for i = 1, #w, 6 do
  if string.sub(w, i, i + 5) == fp then return {'duplicate', ''} end
end
if #w >= 48 and redis.call('SISMEMBER', KEYS[5], fp) == 1 then return {'duplicate', ''} end
local st, prevAt, step = cur[1], tonumber(cur[2]), tonumber(cur[3]) or 0
if st and st ~= 'active' then return {'ignored', 'cart is ' .. st} end
if #w < 48 then
  redis.call('HSET', KEYS[1], 'w', w .. fp)
else
  redis.call('SADD', KEYS[5], fp)
  redis.call('EXPIRE', KEYS[5], ARGV[11])
end
if prevAt and at < prevAt then return {'stale', 'an update with a newer updated_at was already applied'} end
local email = ARGV[7]
local state = 'active'
-- The update's time on this service's clock, for comparisons with orders
-- of the same email (made at the claim): when it arrived, but no later than
-- its own time plus the grace, so that a platform's late retry of an old
-- update cannot outrun the customer's order. Clock skew within the grace
-- changes nothing.
local rx = now
if at > 0 and at + tonumber(ARGV[13]) < rx then rx = at + tonumber(ARGV[13]) end
local act = at
if act > now or act <= 0 then act = now end
local ttl = ARGV[10]
local gen = (tonumber(cur[4]) or 0) + 1
local nd = tonumber(ARGV[14])
local day, store = ARGV[15 + nd], ARGV[16 + nd]
local old = '0'
if now - at > tonumber(ARGV[12]) then old = '1' end
if st then
  redis.call('HSET', KEYS[1], 'st', state, 'at', at, 'act', act, 'rx', rx, 'em', email, 'gen', gen)
else
  redis.call('HSET', KEYS[1], 'st', state, 'at', at, 'act', act, 'rx', rx, 'step', 0, 'em', email, 'gen', gen, 'c0', now, 'ho', ARGV[8])
  if state == 'active' and day ~= '' then
    redis.call('HINCRBY', base .. 'stats:' .. day, ARGV[8] == '1' and 'tracked_h' or 'tracked', 1)
    redis.call('SADD', KEYS[4], store)
  end
end
if old == '1' then redis.call('HSET', KEYS[1], 'old', 1) elseif cur[1] then redis.call('HDEL', KEYS[1], 'old') end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[6], 'EX', ttl)
if state == 'active' and step < nd then
  local due = act + tonumber(ARGV[15 + step])
  -- never closer to the previous step than the configured spacing
  local pv = tonumber(cur[5])
  if pv and step > 0 then due = math.max(due, pv + tonumber(ARGV[15 + step]) - tonumber(ARGV[14 + step])) end
  redis.call('ZADD', KEYS[3], due, member)
else
  redis.call('ZREM', KEYS[3], member)
end
for i = 17 + nd, #ARGV do redis.call('SET', base .. 'ref:' .. ARGV[i], id, 'EX', ttl) end
if state ~= 'active' then return {'ignored', 'customer already ordered'} end
return {'accepted', ''}
`)

// resolve (shared by delete and order) finds cart ids by id, refs and,
// optionally, email; defined inline in each script.
const resolveLua = `
local function resolve(base, id, refs)
  local seen, out = {}, {}
  local function add(x, how) if x and x ~= '' and not seen[x] then seen[x] = true; out[#out + 1] = {x, how} end end
  add(id, 'id')
  for _, r in ipairs(refs) do add(redis.call('GET', base .. 'ref:' .. r), 'ref') end
  return out
end
`

// deleteScript records a cart.deleted event.
// KEYS: 1 seen, 2 due
// ARGV: 1 base, 2 cart id (may be empty), 3 store (due member prefix "store/"),
//
//	4 now, 5 at (0 = unknown), 6 seen ttl, 7 cart ttl, 8.. refs
var deleteScript = redis.NewScript(resolveLua + `
local base, id, store = ARGV[1], ARGV[2], ARGV[3]
local now, at = tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[6]) == false then return {'duplicate', ''} end
local refs = {}
for i = 8, #ARGV do refs[#refs + 1] = ARGV[i] end
local n = 0
for _, c in ipairs(resolve(base, id, refs)) do
  local k = base .. 'cart:' .. c[1]
  local cur = redis.call('HMGET', k, 'st', 'at')
  if cur[1] == 'active' and (at == 0 or at >= (tonumber(cur[2]) or 0)) then
    redis.call('HSET', k, 'st', 'deleted', 'del', now)
    redis.call('HINCRBY', k, 'gen', 1)
    redis.call('ZREM', KEYS[2], store .. '/' .. c[1])
    n = n + 1
  elseif not cur[1] and c[2] == 'id' then
    -- tombstone: a create that arrives late must not start a sequence
    redis.call('HSET', k, 'st', 'deleted', 'del', now, 'at', at, 'c0', now, 'gen', 1, 'step', 0)
    redis.call('EXPIRE', k, ARGV[7])
    n = n + 1
  end
end
if n == 0 then return {'ignored', 'no such cart'} end
return {'accepted', ''}
`)

// orderScript records an order.created event: it ends the carts found by id
// and refs, records when the customer's order was received (which blocks, at
// their claim, every other cart of that email last updated before it plus
// the grace) and attributes the order, once per cart, comparing receive and
// send times (this service's clock, never the platform's):
//   - recovered: the cart was reminded and the order came within the window
//     of the last message sent ("ls"); credit to that step/channel/variant;
//   - converted_h: a holdout cart that was abandoned and ordered within the
//     window of its abandonment;
//   - converted_before: never reminded; converted_late: reminded, but the
//     order came after the window.
//
// A reminded cart of the same email on another device ("last:<email>") is
// credited when none of the carts found was reminded.
// KEYS: 1 seen, 2 due
// ARGV: 1 base, 2 cart id (may be empty), 3 store, 4 now, 5 at, 6 seen ttl,
//
//	7 cart ttl, 8 order id, 9 total, 10 currency, 11 email, 12 total in
//	minor units, 13 window ms, 14 day of at, 15.. refs
var orderScript = redis.NewScript(resolveLua + `
local base, id, store = ARGV[1], ARGV[2], ARGV[3]
local now, at = tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[6]) == false then return {'duplicate', ''} end
local ttl, email, minor, window = ARGV[7], ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])
local stats = base .. 'stats:' .. ARGV[14]
local refs = {}
for i = 15, #ARGV do refs[#refs + 1] = ARGV[i] end
local carts = resolve(base, id, refs)
local function reminded(c) return redis.call('HEXISTS', base .. 'cart:' .. c, 'rem') == 1 end
local any = false
for _, c in ipairs(carts) do if reminded(c[1]) then any = true end end
if not any and email ~= '' then
  local other = redis.call('GET', base .. 'last:' .. email)
  if other and reminded(other) then carts[#carts + 1] = {other, 'email'} end
end
redis.call('HINCRBY', stats, 'orders', 1)
local n, outcome = 0, 'unmatched'
for _, c in ipairs(carts) do
  local k = base .. 'cart:' .. c[1]
  local v = redis.call('HMGET', k, 'st', 'ls', 'ho', 'ab', 'rem', 'clk')
  local st = v[1]
  if st or c[2] == 'id' then
    if not st then redis.call('HSET', k, 'at', at, 'c0', now, 'step', 0, 'gen', 0) end
    if st ~= 'ordered' then
      local att = 'converted_before'
      if v[2] then
        local step, ch, var, ts = string.match(v[2], '^([^|]*)|([^|]*)|([^|]*)|(%d+)$')
        ts = tonumber(ts)
        -- receive time against send time: this service's clock (1 s of
        -- slack between its hosts)
        if ts and now + 1000 >= ts and now - ts <= window then
          att = 'recovered|' .. step .. '|' .. ch .. '|' .. var
          redis.call('HINCRBY', stats, 'recovered', 1)
          redis.call('HINCRBY', stats, att, 1)
          if minor and ARGV[10] ~= '' then
            redis.call('HINCRBY', stats, 'rev|' .. step .. '|' .. ch .. '|' .. var .. '|' .. ARGV[10], minor)
            redis.call('HINCRBY', stats, 'revt|' .. ARGV[10], minor)
          end
          if v[6] then redis.call('HINCRBY', stats, 'recovered_clicked', 1) end
        else
          att = 'converted_late'
        end
      elseif v[3] == '1' and v[4] and now - tonumber(v[4]) <= window then
        att = 'converted_h'
      elseif v[3] == '1' then
        att = 'converted_h_before'
      end
      if not string.find(att, '^recovered') then redis.call('HINCRBY', stats, att, 1) end
      outcome = att
      redis.call('HSET', k, 'st', 'ordered', 'oid', ARGV[8], 'oat', at, 'orx', now, 'otot', ARGV[9], 'ocur', ARGV[10], 'oby', c[2], 'att', att)
      redis.call('HINCRBY', k, 'gen', 1)
      redis.call('EXPIRE', k, ttl)
      redis.call('ZREM', KEYS[2], store .. '/' .. c[1])
      n = n + 1
    end
  end
end
if email ~= '' then
  local k = base .. 'ordered:' .. email
  -- the receive time: compared with other carts' receive times (one clock)
  redis.call('SET', k, now, 'EX', ttl)
end
return {'accepted', outcome}
`)

// leaseScript takes due carts for the relay and pushes their score to the
// lease deadline, so a relay that dies mid-way is retried by another.
// KEYS: 1 due. ARGV: 1 prefix, 2 now, 3 lease until, 4 limit
// Returns flat triples: member, step, gen (carts that vanished are dropped).
var leaseScript = redis.NewScript(`
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])
for _, m in ipairs(due) do
  local slash = string.find(m, '/', 1, true)
  local k = ARGV[1] .. '{' .. string.sub(m, 1, slash - 1) .. '}:cart:' .. string.sub(m, slash + 1)
  local v = redis.call('HMGET', k, 'st', 'step', 'gen')
  if v[1] == 'active' then
    redis.call('ZADD', KEYS[1], ARGV[3], m)
    out[#out + 1] = m; out[#out + 1] = v[2]; out[#out + 1] = v[3]
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`)

// releaseScript removes relayed carts from the due set unless an update
// re-scheduled them meanwhile (their score is no longer the lease deadline).
// KEYS: 1 due. ARGV: 1 lease until, 2.. members
var releaseScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[1] then redis.call('ZREM', KEYS[1], ARGV[i]); n = n + 1 end
end
return n
`)

// claimScript is the last check before a provider call: the cart must still
// be active, on this step and generation, its customer must not have ordered
// (an order by the email received no earlier than the cart's last update
// minus the grace: receive times, one clock), no other cart of the customer
// may hold the cooldown, and the (step, channel) must be unclaimed. A claim
// takes (or renews) the cooldown and is listed in the in-flight set until
// its outcome is recorded, so a claim whose worker died is swept.
// KEYS: 1 cart, 2 due, 3 in-flight claims. ARGV: 1 base, 2 field, 3 step,
//
//	4 gen, 5 now, 6 member, 7 cooldown ms (0 = off), 8 cart id,
//	9 order grace ms, 10 sweep deadline ms, 11 in-flight member
var claimScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'st', 'step', 'gen', 'em', 'rx', 'c0')
if not v[1] then return 'gone' end
if v[1] ~= 'active' then return v[1] end
if v[2] ~= ARGV[3] or v[3] ~= ARGV[4] then return 'superseded' end
if v[4] and v[4] ~= '' then
  local orx = tonumber(redis.call('GET', ARGV[1] .. 'ordered:' .. v[4]) or '')
  local rx = tonumber(v[5] or '') or tonumber(v[6] or '') or 0
  if orx and orx + tonumber(ARGV[9]) >= rx then
    redis.call('HSET', KEYS[1], 'st', 'ordered', 'oby', 'email', 'orx', orx)
    redis.call('ZREM', KEYS[2], ARGV[6])
    return 'ordered'
  end
end
local cool, ck = tonumber(ARGV[7]), nil
if cool > 0 and v[4] and v[4] ~= '' then
  ck = ARGV[1] .. 'cool:' .. v[4]
  local holder = redis.call('GET', ck)
  if holder and holder ~= ARGV[8] then return 'cooldown' end
end
if redis.call('HSETNX', KEYS[1], ARGV[2], 'claimed|' .. ARGV[5]) == 0 then return 'claimed' end
redis.call('ZADD', KEYS[3], ARGV[10], ARGV[11])
if ck then redis.call('SET', ck, ARGV[8], 'PX', cool) end
return 'ok'
`)

// finishScript replaces a claim with its outcome and counts it; the claim
// leaves the in-flight set. A first accepted message makes the cart
// "reminded" and becomes its last touch ("ls"), also reachable by the
// customer's email for cross-device orders. A failure whose detail starts
// with "unknown" (the provider may have taken it; or the worker died
// mid-send and the claim was swept) is also counted as "unknown".
// Returns 0 when there was no claim (e.g. swept already), else 1.
// KEYS: 1 cart, 2 in-flight claims. ARGV: 1 field, 2 value ("" = release
//
//	the claim for a retry), 3 outcome, 4 stats key, 5 counter suffix
//	"step|channel|variant", 6 now ms, 7 base, 8 window s, 9 cart id,
//	10 in-flight member
var finishScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[10])
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or string.sub(v, 1, 8) ~= 'claimed|' then return 0 end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]); return 1 end
-- keep when the claim was taken: that is when the send started
local outcome, fin, detail = string.match(ARGV[2], '^([^|]*)|([^|]*)|(.*)$')
redis.call('HSET', KEYS[1], ARGV[1], outcome .. '|' .. fin .. '|' .. string.sub(v, 9) .. '|' .. detail)
redis.call('HINCRBY', ARGV[4], ARGV[3] .. '|' .. ARGV[5], 1)
if ARGV[3] == 'failed' and string.sub(detail, 1, 7) == 'unknown' then
  redis.call('HINCRBY', ARGV[4], 'unknown|' .. ARGV[5], 1)
end
if ARGV[3] == 'sent' then
  if redis.call('HSETNX', KEYS[1], 'rem', ARGV[6]) == 1 then redis.call('HINCRBY', ARGV[4], 'reminded', 1) end
  redis.call('HSET', KEYS[1], 'ls', ARGV[5] .. '|' .. ARGV[6])
  local em = redis.call('HGET', KEYS[1], 'em')
  if em and em ~= '' then redis.call('SET', ARGV[7] .. 'last:' .. em, ARGV[9], 'EX', ARGV[8]) end
end
return 1
`)

// skipScript records that (step, channel) was not sent, once, and counts it
// ("skipped", or "held" for the holdout group, which reports keep apart).
// KEYS: 1 cart. ARGV: 1 field, 2 value, 3 stats key, 4 counter suffix, 5 counter
var skipScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', ARGV[3], ARGV[5] .. '|' .. ARGV[4], 1)
  return 1
end
return 0
`)

// clickScript records a click on a message link and returns the cart's
// content and platform for the redirect ("" when the cart expired).
// KEYS: 1 cart, 2 data. ARGV: 1 field "k:<step>:<channel>", 2 now, 3 stats
// key, 4 counter suffix
var clickScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', ARGV[3], 'clicked|' .. ARGV[4], 1)
end
if redis.call('HINCRBY', KEYS[1], 'clk', 1) == 1 then redis.call('HINCRBY', ARGV[3], 'clicked_carts', 1) end
return redis.call('GET', KEYS[2]) or ''
`)

// advanceScript moves an active cart past a finished step and schedules the
// next one from the cart's last activity.
// Finishing the first step is when a cart counts as abandoned (once: the
// step only advances once); "ab" keeps the due time it was abandoned at.
// A cart first seen too old ("old") is not counted as abandoned: it was
// never going to be reminded. The next step is due its delay after the last
// activity, and never sooner after this step than the configured spacing
// ("pv" keeps when this step finished), so a cart first seen late does not
// get its steps in a burst.
// KEYS: 1 cart, 2 due. ARGV: 1 member, 2 step, 3 stats key, 4 now, 5 n delays,
// 6.. delays ms
var advanceScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'st', 'step', 'act', 'ho', 'old')
if v[1] ~= 'active' or v[2] ~= ARGV[2] then return 0 end
local now = tonumber(ARGV[4])
if ARGV[2] == '0' and v[5] ~= '1' then
  redis.call('HSET', KEYS[1], 'ab', tonumber(v[3]) + tonumber(ARGV[6]))
  redis.call('HINCRBY', ARGV[3], v[4] == '1' and 'abandoned_h' or 'abandoned', 1)
end
local next = tonumber(ARGV[2]) + 1
redis.call('HSET', KEYS[1], 'step', next, 'pv', now)
redis.call('HINCRBY', KEYS[1], 'gen', 1)
if next < tonumber(ARGV[5]) then
  local dn = tonumber(ARGV[6 + next])
  local due = math.max(tonumber(v[3]) + dn, now + dn - tonumber(ARGV[6 + next - 1]))
  redis.call('ZADD', KEYS[2], due, ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`)
