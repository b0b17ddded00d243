-- skip: record that a message was not sent and why, once, and count it
-- (the holdout group's skips are not counted).
--
-- KEYS: 1 cart hash, 2 stats hash of today
-- ARGV: 1 send field, 2 value "skipped|ms|ms|reason", 3 counter field
--       ("" = none), 4 reason counter field "skipr|<code>" ("" = none)
-- Returns: 1 when recorded, 0 when the message already had a state
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
  if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[4], 1) end
  return 1
end
return 0
