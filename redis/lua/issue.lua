-- issue: keep a unique discount code as the one of a cart's step, unless
-- another run of the step kept one first (then that one is returned). The
-- caller made the code; the previous value it read must still be there
-- (none, or a code no longer valid), so two runs of a step agree on one
-- code. The code's index names its step and variant for the order that
-- carries it (order.lua counts it redeemed).
--
-- KEYS: 1 cart hash, 2 the new code's index ("code:")
-- ARGV: 1 cart field "dc:<step>", 2 the value read ("" = none), 3 the new
--       value "CODE|expires ms|0", 4 counter suffix "step|variant",
--       5 cart id, 6 index ttl s, 7 generation
-- Returns: {status, value}: 'ok' with the new value, 'taken' with the
-- value another run kept, 'stop' when the cart ended or moved on
local v = redis.call('HMGET', KEYS[1], 'st', 'gen', ARGV[1])
if v[1] ~= 'active' or v[2] ~= ARGV[7] then return {'stop', ''} end
if (v[3] or '') ~= ARGV[2] then return {'taken', v[3] or ''} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'collision', ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], 'cart', ARGV[5], 'sv', ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return {'ok', ARGV[3]}
