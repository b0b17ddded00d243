-- delete: record a cart.deleted event. The caller resolves the carts first
-- (the id, then what each ref points to) and passes their keys; the script
-- checks that the refs still point where they did (else 'retry', and the
-- caller resolves again), so every key it touches is in KEYS.
-- A cart never seen gets a tombstone, so a create that arrives late does
-- not start a sequence.
--
-- KEYS: 1 seen delivery, 2 the store's due set, 3..2+2r the refs, each as
--       a pair (its name, its name before refs were hashed: read only when
--       the first is missing), 3+2r.. the candidate carts' hashes in
--       ARGV's order
-- ARGV: 1 now ms, 2 event time ms (0 = unknown), 3 dedupe ttl s,
--       4 cart ttl s, 5 r (number of refs), 6 cart id ("" = none),
--       7.. candidate cart ids: the id first, then each ref's target,
--       without repeats
-- Returns: {status, reason}; status 'retry' when a ref moved meanwhile
local now, at, nr, id = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5]), ARGV[6]
local want, seen = {}, {}
local function add(x) if x and x ~= '' and not seen[x] then seen[x] = true; want[#want + 1] = x end end
add(id)
for i = 1, nr do add(redis.call('GET', KEYS[1 + 2 * i]) or redis.call('GET', KEYS[2 + 2 * i])) end
if #want ~= #ARGV - 6 then return {'retry', ''} end
for i, c in ipairs(want) do if ARGV[6 + i] ~= c then return {'retry', ''} end end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) == false then return {'duplicate', ''} end
local n = 0
for i, c in ipairs(want) do
  local k = KEYS[2 + 2 * nr + i]
  local cur = redis.call('HMGET', k, 'st', 'at')
  if cur[1] == 'active' and (at == 0 or at >= (tonumber(cur[2]) or 0)) then
    redis.call('HSET', k, 'st', 'deleted', 'del', now)
    redis.call('HINCRBY', k, 'gen', 1)
    redis.call('ZREM', KEYS[2], c)
    n = n + 1
  elseif not cur[1] and c == id then
    redis.call('HSET', k, 'st', 'deleted', 'del', now, 'at', at, 'c0', now, 'gen', 1, 'step', 0)
    redis.call('EXPIRE', k, ARGV[4])
    n = n + 1
  end
end
if n == 0 then return {'ignored', 'no such cart'} end
return {'accepted', ''}
