-- hold: note on a cart that a message waits for the end of quiet hours
-- (the timeline shows it when it happens, not only once it is sent).
--
-- KEYS: 1 cart hash
-- ARGV: 1 field "q:<step>:<channel>", 2 value "until ms|ms"
-- Returns: 1 when noted, 0 when the cart is gone
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
