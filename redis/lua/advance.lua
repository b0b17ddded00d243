-- advance: move an active cart past a finished step and schedule the next
-- one from the cart's last activity. Finishing the first step is when a
-- cart counts as abandoned (once: the step only advances once); "ab" keeps
-- the due time it was abandoned at. A cart first seen too old ("old") is
-- not counted: it was never going to be reminded. The next step is due its
-- delay after the last activity, and never sooner after this step than the
-- configured spacing ("pv" keeps when this step finished).
--
-- KEYS: 1 cart hash, 2 the store's due set, 3 stats hash of today
-- ARGV: 1 cart id, 2 step, 3 now ms, 4 abandoned counter field,
--       5 abandoned (holdout) counter field, 6 the cart's segment copy
--       suffix ("@name"; "" in the default sequence: no copy), 7 number
--       of delays n of the cart's sequence, 8..7+n its delays ms
-- Returns: 1 when advanced, 0 when the cart moved on or ended
local v = redis.call('HMGET', KEYS[1], 'st', 'step', 'act', 'ho', 'old', 'at')
if v[1] ~= 'active' or v[2] ~= ARGV[2] then return 0 end
local now = tonumber(ARGV[3])
v[3] = v[3] or v[6] -- "act" is kept only when it differs from "at"
if ARGV[2] == '0' and v[5] ~= '1' then
  -- (no delay: the cart's segment was removed; abandoned at its activity)
  redis.call('HSET', KEYS[1], 'ab', tonumber(v[3]) + (tonumber(ARGV[8]) or 0))
  local f = v[4] == '1' and ARGV[5] or ARGV[4]
  redis.call('HINCRBY', KEYS[3], f, 1)
  if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[3], f .. ARGV[6], 1) end
end
local next = tonumber(ARGV[2]) + 1
redis.call('HSET', KEYS[1], 'step', next, 'pv', now)
redis.call('HINCRBY', KEYS[1], 'gen', 1)
if next < tonumber(ARGV[7]) then
  local dn = tonumber(ARGV[8 + next])
  local due = math.max(tonumber(v[3]) + dn, now + dn - tonumber(ARGV[8 + next - 1]))
  redis.call('ZADD', KEYS[2], due, ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
