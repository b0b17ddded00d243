-- hold: note on a cart that a message waits for the end of quiet hours
-- (the timeline shows it when it happens, not only once it is sent).
--
-- The first hold of each message is counted (skipr|quiet_hours).
--
-- KEYS: 1 cart hash, 2 stats hash of today
-- ARGV: 1 field "q:<step>:<channel>", 2 value "until ms|ms", 3 counter field
-- Returns: 1 when noted, 0 when the cart is gone
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
return 1
