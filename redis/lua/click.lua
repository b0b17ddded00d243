-- click: record a click on a message's link and return the cart's content
-- for the redirect ("" when the cart expired). The first click on each
-- message and on each cart is counted.
--
-- KEYS: 1 cart hash, 2 cart data, 3 stats hash of today
-- ARGV: 1 click field, 2 now ms, 3 clicked counter field, 4 clicked-carts
--       counter field, 5 the step's unique code field ("dc:<step>"),
--       6 the message's counter suffix (kept as the last click, "lc":
--       suffix|ms, which the order's attribution reads), 7 the
--       clicked-carts counter's segment copy ("" none)
-- Returns: {the cart data, or "", the step's unique code value or ""}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'', ''} end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
end
redis.call('HSET', KEYS[1], 'lc', ARGV[6] .. '|' .. ARGV[2])
if redis.call('HINCRBY', KEYS[1], 'clk', 1) == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
  if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[7], 1) end
end
return {redis.call('GET', KEYS[2]) or '', redis.call('HGET', KEYS[1], ARGV[5]) or ''}
