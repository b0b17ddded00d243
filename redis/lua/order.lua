-- order: record an order.created event. It ends the carts found by id and
-- refs, records when the customer's order was received (which blocks, at
-- their claim, every other cart of that email last updated before it plus
-- the grace) and attributes the order, once per cart, comparing receive and
-- send times (this service's clock, never the platform's):
--   recovered        the cart was reminded and the order came within the
--                    window of the last message sent ("ls"); credited to
--                    that message's step, channel and variant
--   converted_h      a holdout cart ordered within the window of its
--                    abandonment
--   converted_before never reminded; converted_late: reminded, but the
--                    order came after the window
-- A reminded cart of the same email on another device ("last:<email>") is
-- credited when none of the carts found was reminded. The caller resolves
-- the carts (and that other cart) first; the script checks the refs and
-- the email's last cart still point there (else 'retry').
-- Attribution follows the click: when the customer clicked a message's
-- link ("lc") within the window before the order, the last clicked message
-- is credited (rule "click", counted credit_click); else the last message
-- sent ("ls", rule "send"). The rule is kept on the cart ("arule").
-- Counter fields follow recovery.Counter: kind, or kind|step|channel|
-- variant with "ls" holding that suffix, and |currency for revenue. A cart
-- in a segment ("sg") also counts its cart-level counters and revenue in
-- the segment's copy: kind@segment (revt@segment|currency).
--
-- The order itself is counted once by its id ("oid:"), however it came:
-- its webhook, the check with the platform before a send (ARGV[15]: also
-- counted as verified_ordered), or both. Unique discount codes it carries
-- ("code:" keys, made by issue.lua) are counted redeemed once each.
--
-- KEYS: 1 seen delivery, 2 the store's due set, 3 stats hash of the day,
--       4 ordered:<email>, 5 last:<email>, 6..5+2r the refs, each as a
--       pair (its name, its name before refs were hashed: read only when
--       the first is missing), 6+2r.. the candidate carts' hashes in
--       ARGV's order, then the email's last cart's hash when ARGV[14] is
--       set, then ARGV[13] code indexes, and last the order's oid: key
-- ARGV: 1 now ms, 2 order time ms, 3 dedupe ttl s, 4 cart ttl s,
--       5 order id, 6 total, 7 currency, 8 normalized email ("" = none),
--       9 total in minor units ("" = unknown), 10 window ms, 11 r,
--       12 cart id, 13 number of code keys, 14 the email's last cart id
--       ("" = none), 15 "1" when found by the check with the platform,
--       16.. candidate cart ids (the id, then each ref's target, no repeats)
-- Returns: {status, attribution}; status 'retry' when a ref moved meanwhile
local now, at, nr, id = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[11]), ARGV[12]
local ncodes = tonumber(ARGV[13])
local email, minor, window, cur = ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[7]
local want, seen = {}, {}
local function add(x) if x and x ~= '' and not seen[x] then seen[x] = true; want[#want + 1] = x end end
add(id)
for i = 1, nr do add(redis.call('GET', KEYS[4 + 2 * i]) or redis.call('GET', KEYS[5 + 2 * i])) end
if #want ~= #ARGV - 15 then return {'retry', ''} end
for i, c in ipairs(want) do if ARGV[15 + i] ~= c then return {'retry', ''} end end
local other = ''
if email ~= '' then other = redis.call('GET', KEYS[5]) or '' end
if other ~= ARGV[14] then return {'retry', ''} end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) == false then return {'duplicate', ''} end
local carts = {}
for i, c in ipairs(want) do
  local how = 'ref'
  if c == id then how = 'id' end
  carts[#carts + 1] = {c, 5 + 2 * nr + i, how} -- id, index in KEYS, how found
end
local function reminded(i) return redis.call('HEXISTS', KEYS[i], 'rem') == 1 end
local any = false
for _, c in ipairs(carts) do if reminded(c[2]) then any = true end end
if not any and other ~= '' and not seen[other] and reminded(6 + 2 * nr + #want) then
  carts[#carts + 1] = {other, 6 + 2 * nr + #want, 'email'}
end
local stats = KEYS[3]
local oid = KEYS[#KEYS]
-- counted: the first time this order is seen (by its id); a second
-- sighting (the check after the webhook, a lookup after converted) still
-- ends the carts it finds, crediting and counting nothing again
local counted = ARGV[5] == '' or redis.call('SET', oid, '1', 'NX', 'EX', ARGV[4])
if counted then
  redis.call('HINCRBY', stats, 'orders', 1)
  if ARGV[15] == '1' then redis.call('HINCRBY', stats, 'verified_ordered', 1) end
end
-- each code once, whichever sighting of the order carries it
for i = #KEYS - ncodes, #KEYS - 1 do
  local v = redis.call('HMGET', KEYS[i], 'sv', 'r')
  if v[1] and not v[2] then
    redis.call('HSET', KEYS[i], 'r', now)
    redis.call('HINCRBY', stats, 'codes_redeemed|' .. v[1], 1)
  end
end
local outcome = 'unmatched'
for _, c in ipairs(carts) do
  local k = KEYS[c[2]]
  local v = redis.call('HMGET', k, 'st', 'ls', 'ho', 'ab', 'clk', 'lc', 'sg')
  local st = v[1]
  local sg = v[7] and ('@' .. v[7]) or ''
  -- a cart-level counter, and its segment's copy
  local function count(f, n, label)
    label = label or ''
    redis.call('HINCRBY', stats, f .. label, n)
    if sg ~= '' then redis.call('HINCRBY', stats, f .. sg .. label, n) end
  end
  if (st or c[3] == 'id') and st ~= 'ordered' then
    if not st then redis.call('HSET', k, 'at', at, 'c0', now, 'step', 0, 'gen', 0) end
    local att = 'converted_before'
    if not counted then
      att = 'same_order' -- credited where the order was first seen
    elseif v[2] then
      local suffix, ts = string.match(v[2], '^(.*)|(%d+)$')
      ts = tonumber(ts)
      local rule = 'send'
      if v[6] then
        local cs, cts = string.match(v[6], '^(.*)|(%d+)$')
        cts = tonumber(cts)
        if cts and now + 1000 >= cts and now - cts <= window then
          suffix, ts, rule = cs, cts, 'click'
        end
      end
      -- receive time against send time: this service's clock (1 s of
      -- slack between its hosts)
      if ts and now + 1000 >= ts and now - ts <= window then
        att = 'recovered|' .. suffix
        count('recovered', 1)
        redis.call('HINCRBY', stats, att, 1)
        redis.call('HSET', k, 'arule', rule)
        if rule == 'click' then count('credit_click', 1) end
        if minor and cur ~= '' then
          redis.call('HINCRBY', stats, 'rev|' .. suffix .. '|' .. cur, minor)
          count('revt', minor, '|' .. cur)
          count('recc', 1, '|' .. cur)
        end
        if v[5] then count('recovered_clicked', 1) end
      else
        att = 'converted_late'
        count(att, 1)
      end
    elseif v[3] == '1' then
      -- the control group: counted only when it had been abandoned within
      -- the window (the comparison the holdout lift makes)
      if v[4] and now - tonumber(v[4]) <= window then
        att = 'converted_h'
        count(att, 1)
      else
        att = 'converted_h_before'
      end
    elseif att == 'converted_before' then
      count(att, 1)
    end
    outcome = att
    redis.call('HSET', k, 'st', 'ordered', 'oid', ARGV[5], 'oat', at, 'orx', now, 'otot', ARGV[6], 'ocur', cur, 'oby', c[3], 'att', att)
    redis.call('HINCRBY', k, 'gen', 1)
    redis.call('EXPIRE', k, ARGV[4])
    redis.call('ZREM', KEYS[2], c[1])
  end
end
-- the receive time: compared with other carts' receive times (one clock)
if email ~= '' then redis.call('SET', KEYS[4], now, 'EX', ARGV[4]) end
return {'accepted', outcome}
