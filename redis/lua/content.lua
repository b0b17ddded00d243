-- content: replace a cart's content with what its platform says at send
-- time (BigCommerce webhooks carry ids only), and the email it is indexed
-- under, if the cart is still active on the generation the worker read.
-- The content keeps the cart hash's expiry.
--
-- KEYS: 1 cart hash, 2 cart data
-- ARGV: 1 generation, 2 normalized email, 3 cart data
-- Returns: 1 when replaced, 0 when the cart ended or changed meanwhile
local v = redis.call('HMGET', KEYS[1], 'st', 'gen')
if v[1] ~= 'active' or v[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'em', ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)
else
  redis.call('SET', KEYS[2], ARGV[3])
end
return 1
