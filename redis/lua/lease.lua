-- lease: take due carts for the relay and push their score to the lease
-- deadline, so a relay that dies mid-way is retried by another after it.
-- The caller read the due ids first (ZRANGEBYSCORE) and passes their hashes;
-- an id whose score moved meanwhile (leased by another relay, or
-- rescheduled later) is left alone; one whose cart ended is dropped.
--
-- KEYS: 1 the store's due set, 2.. the candidates' cart hashes
-- ARGV: 1 now ms, 2 lease deadline ms, 3.. candidate cart ids (KEYS order)
-- Returns: flat triples {cart id, step, gen} of the carts leased
local out = {}
local now = tonumber(ARGV[1])
for i = 3, #ARGV do
  local id = ARGV[i]
  local score = tonumber(redis.call('ZSCORE', KEYS[1], id))
  if score and score <= now then
    local v = redis.call('HMGET', KEYS[i - 1], 'st', 'step', 'gen')
    if v[1] == 'active' then
      redis.call('ZADD', KEYS[1], ARGV[2], id)
      out[#out + 1] = id; out[#out + 1] = v[2]; out[#out + 1] = v[3]
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
return out
