-- registered: mark a cart's unique code as registered with the platform
-- (only then may a message carry it) and count it issued, once.
--
-- KEYS: 1 cart hash, 2 stats hash of today
-- ARGV: 1 cart field "dc:<step>", 2 the code's value "CODE|expires ms|0",
--       3 its registered value "CODE|expires ms|1", 4 counter field
--       "codes_issued|step|variant"
-- Returns: 1 when marked (now or before), 0 when the step's code changed
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur == ARGV[3] then return 1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
return 1
