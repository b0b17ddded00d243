-- update: record a cart.updated event and (re)schedule the cart's next
-- step, atomically. Every delivery id applied to the cart is remembered for
-- the dedupe window, so a redelivery is a duplicate whatever arrived in
-- between: the first eight as 6-byte fingerprints in the cart hash ("w", 48
-- bytes at most, so the hash stays a compact listpack), further ones in the
-- overflow set that only carts updated that often ever get.
-- Platform times only order this cart's own events: an older one is stale;
-- an equal one is applied (the later arrival wins). Whether an order by the
-- same email on another cart came after this update is decided at the
-- claim, on this service's clock ("rx").
-- A cart keeps the segment of its first event ("sg", kept only for a
-- segment other than the default): a new cart takes the segment chosen for
-- it (the one for a returning customer when ARGV[15] is set and an order
-- of its email was seen), an update runs with the delays of the cart's own
-- segment, whatever this event would choose; a segment no longer in the
-- store's table (removed by a reload) has no steps, so its cart is not
-- scheduled again. A new cart's segments were chosen with the same
-- snapshot of the store's settings as the table (redis.Store.Record), so
-- the table has them.
--
-- KEYS: 1 cart hash, 2 cart data, 3 the store's due set, 4 overflow
--       delivery ids, 5 stats hash of the event's day, then the ref
--       (optional), then ordered:<email> (only when ARGV[15] is "1")
-- ARGV: 1 cart id (its due member and the ref's value), 2 now ms,
--       3 event time ms, 4 cart data, 5 normalized email, 6 delivery
--       fingerprint, 7 cart ttl s, 8 dedupe ttl s, 9 max cart age ms,
--       10 order grace ms;
--       a new cart's segment ("" the default sequence), holdout "1"/"0",
--       tracked counter field ("" = counters off) and its segment copy
--       ("" none): 11-14 as chosen, 16-19 for a returning customer, used
--       when 15 is "1" and ordered:<email> exists;
--       20 number k of the store's sequences, then k groups: the
--       segment's name ("" the default sequence), its number of delays n,
--       its n delays ms
-- Returns: {status, reason}
local id = ARGV[1]
local now, at = tonumber(ARGV[2]), tonumber(ARGV[3])
local fp = ARGV[6]
local cur = redis.call('HMGET', KEYS[1], 'st', 'at', 'step', 'gen', 'pv', 'w', 'old', 'act', 'sg')
local w = cur[6] or ''
for i = 1, #w, 6 do
  if string.sub(w, i, i + 5) == fp then return {'duplicate', ''} end
end
if #w >= 48 and redis.call('SISMEMBER', KEYS[4], fp) == 1 then return {'duplicate', ''} end
local st, prevAt, step = cur[1], tonumber(cur[2]), tonumber(cur[3]) or 0
if st and st ~= 'active' then return {'ignored', 'cart is ' .. st} end
local nw = w
if #w < 48 then
  nw = w .. fp
else
  redis.call('SADD', KEYS[4], fp)
  redis.call('EXPIRE', KEYS[4], ARGV[8])
end
if prevAt and at < prevAt then
  if nw ~= w then redis.call('HSET', KEYS[1], 'w', nw) end
  return {'stale', 'an update with a newer updated_at was already applied'}
end
-- The update's time on this service's clock, for comparisons with orders
-- of the same email: when it arrived, but no later than its own time plus
-- the grace, so that a platform's late retry of an old update cannot
-- outrun the customer's order.
local rx = now
if at > 0 and at + tonumber(ARGV[10]) < rx then rx = at + tonumber(ARGV[10]) end
local act = at
if act > now or act <= 0 then act = now end
local ttl = ARGV[7]
local gen = (tonumber(cur[4]) or 0) + 1
-- the delays of the cart's segment: ARGV[d0 + i] is step i's
local a = 11 -- the new cart's segment, holdout, tracked field and copy
local history = ARGV[15] == '1'
local ref = KEYS[6]
if history and #KEYS == 6 then ref = nil end -- KEYS[6] is ordered:<email>
if not st and history and redis.call('EXISTS', KEYS[#KEYS]) == 1 then a = 16 end
local sg = ARGV[a]
if st then sg = cur[9] or '' end
local d0, nd, j = 0, 0, 21
for _ = 1, tonumber(ARGV[20]) do
  local n = tonumber(ARGV[j + 1])
  if ARGV[j] == sg then d0, nd = j + 2, n end
  j = j + 2 + n
end
-- Every pending cart pays for each field: "act" is kept only when it
-- differs from "at", "ho" only for the holdout group.
if st then
  redis.call('HSET', KEYS[1], 'st', 'active', 'at', at, 'rx', rx, 'em', ARGV[5], 'gen', gen, 'w', nw)
else
  redis.call('HSET', KEYS[1], 'st', 'active', 'at', at, 'rx', rx, 'step', 0, 'em', ARGV[5], 'gen', gen, 'c0', now, 'w', nw)
  if ARGV[a + 1] == '1' then redis.call('HSET', KEYS[1], 'ho', 1) end
  if sg ~= '' then redis.call('HSET', KEYS[1], 'sg', sg) end
  if ARGV[a + 2] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[a + 2], 1) end
  if ARGV[a + 3] ~= '' and sg ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[a + 3], 1) end
end
if act ~= at then
  redis.call('HSET', KEYS[1], 'act', act)
elseif cur[8] then
  redis.call('HDEL', KEYS[1], 'act')
end
if now - at > tonumber(ARGV[9]) then
  redis.call('HSET', KEYS[1], 'old', 1)
elseif cur[7] then
  redis.call('HDEL', KEYS[1], 'old')
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[4], 'EX', ttl)
if step < nd then
  local due = act + tonumber(ARGV[d0 + step])
  -- never closer to the previous step than the configured spacing
  local pv = tonumber(cur[5])
  if pv and step > 0 then due = math.max(due, pv + tonumber(ARGV[d0 + step]) - tonumber(ARGV[d0 + step - 1])) end
  redis.call('ZADD', KEYS[3], due, id)
else
  redis.call('ZREM', KEYS[3], id)
end
if ref then redis.call('SET', ref, id, 'EX', ttl) end
return {'accepted', ''}
