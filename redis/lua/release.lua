-- release: remove relayed carts from the due set, unless an update
-- re-scheduled them meanwhile (their score is no longer the lease deadline).
--
-- KEYS: 1 the store's due set
-- ARGV: 1 lease deadline ms, 2.. cart ids
-- Returns: how many were removed
local n = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[1] then redis.call('ZREM', KEYS[1], ARGV[i]); n = n + 1 end
end
return n
