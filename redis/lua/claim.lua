-- claim: the last check before a provider call. The cart must still be
-- active, on this step and generation, its customer must not have ordered
-- (an order by the email received no earlier than the cart's last update
-- minus the grace: receive times, one clock), no other cart of the customer
-- may hold the cooldown, and the message must be unclaimed. A claim takes
-- (or renews) the cooldown and is listed in the store's in-flight set until
-- its outcome is recorded, so a claim whose worker died is swept.
-- The email keys come from the caller's read of the cart; any update since
-- bumped the generation, so a changed email is 'superseded'.
--
-- The channel's contact must not be suppressed (unsubscribed, STOP): the
-- guards checked before, this checks again at the last moment.
--
-- KEYS: 1 cart hash, 2 the store's due set, 3 the store's in-flight set,
--       4 ordered:<email>, 5 cool:<email>, 6 unsub:<channel>:<contact hash>
-- ARGV: 1 send field, 2 step, 3 gen, 4 now ms, 5 cart id, 6 cooldown ms
--       (0 = off), 7 order grace ms, 8 sweep deadline ms, 9 message key,
--       10 normalized email
-- Returns: 'ok' or why not: gone, ordered, deleted, superseded, claimed,
--          cooldown, unsubscribed
local v = redis.call('HMGET', KEYS[1], 'st', 'step', 'gen', 'em', 'rx', 'c0')
if not v[1] then return 'gone' end
if v[1] ~= 'active' then return v[1] end
if v[2] ~= ARGV[2] or v[3] ~= ARGV[3] or (v[4] or '') ~= ARGV[10] then return 'superseded' end
local email = ARGV[10]
if email ~= '' then
  local orx = tonumber(redis.call('GET', KEYS[4]) or '')
  local rx = tonumber(v[5] or '') or tonumber(v[6] or '') or 0
  if orx and orx + tonumber(ARGV[7]) >= rx then
    redis.call('HSET', KEYS[1], 'st', 'ordered', 'oby', 'email', 'orx', orx)
    redis.call('ZREM', KEYS[2], ARGV[5])
    return 'ordered'
  end
end
if redis.call('EXISTS', KEYS[6]) == 1 then return 'unsubscribed' end
local cool = tonumber(ARGV[6])
if cool > 0 and email ~= '' then
  local holder = redis.call('GET', KEYS[5])
  if holder and holder ~= ARGV[5] then return 'cooldown' end
end
if redis.call('HSETNX', KEYS[1], ARGV[1], 'claimed|' .. ARGV[4]) == 0 then return 'claimed' end
redis.call('ZADD', KEYS[3], ARGV[8], ARGV[9])
if cool > 0 and email ~= '' then redis.call('SET', KEYS[5], ARGV[5], 'PX', cool) end
return 'ok'
