-- finish: replace a claim with its outcome and count it; the claim leaves
-- the in-flight set. A first accepted message makes the cart "reminded" and
-- becomes its last touch ("ls": counter suffix|ms), also reachable by the
-- customer's email for cross-device orders. A failure whose detail starts
-- with "unknown" (the provider may have taken it, or the worker died
-- mid-send and the claim was swept) is also counted as unknown.
-- An empty value releases the claim for a retry and counts nothing.
--
-- KEYS: 1 cart hash, 2 the store's in-flight set, 3 stats hash of today,
--       4 last:<email>
-- ARGV: 1 send field, 2 value "outcome|ms|detail" ("" = release),
--       3 outcome counter field, 4 unknown counter field, 5 counter
--       suffix, 6 now ms, 7 attribution window s, 8 cart id,
--       9 message key, 10 normalized email, 11 reminded counter field,
--       12 the step's "reached" field "rs:<step>", 13 its counter field
--       (reached|step|variant: carts that got a message of the step),
--       14 the reminded counter's segment copy ("" none)
-- Returns: 0 when there was no claim (swept already), else 1
redis.call('ZREM', KEYS[2], ARGV[9])
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v or string.sub(v, 1, 8) ~= 'claimed|' then return 0 end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]); return 1 end
-- keep when the claim was taken: that is when the send started
local outcome, fin, detail = string.match(ARGV[2], '^([^|]*)|([^|]*)|(.*)$')
redis.call('HSET', KEYS[1], ARGV[1], outcome .. '|' .. fin .. '|' .. string.sub(v, 9) .. '|' .. detail)
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
if outcome == 'failed' and string.sub(detail, 1, 7) == 'unknown' then
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
end
if outcome == 'sent' then
  if redis.call('HSETNX', KEYS[1], 'rem', ARGV[6]) == 1 then
    redis.call('HINCRBY', KEYS[3], ARGV[11], 1)
    if ARGV[14] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[14], 1) end
  end
  if redis.call('HSETNX', KEYS[1], ARGV[12], ARGV[6]) == 1 then redis.call('HINCRBY', KEYS[3], ARGV[13], 1) end
  redis.call('HSET', KEYS[1], 'ls', ARGV[5] .. '|' .. ARGV[6])
  if ARGV[10] ~= '' and redis.call('HGET', KEYS[1], 'em') == ARGV[10] then
    redis.call('SET', KEYS[4], ARGV[8], 'EX', ARGV[7])
  end
end
return 1
