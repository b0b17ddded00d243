-- receipt: record a provider's delivery receipt of a sent message (Twilio's
-- status callback) and count it, once: the first final status is kept
-- (Twilio may repeat a callback). A receipt for a message this service did
-- not send (no "sent" outcome) is ignored.
--
-- KEYS: 1 cart hash, 2 stats hash of today
-- ARGV: 1 receipt field "r:<step>:<channel>", 2 its value
--       "status|ms|error", 3 the message's send field "m:<step>:<channel>",
--       4 counter field (delivered|suffix or undelivered|suffix)
-- Returns: 1 when recorded, 0 when ignored or recorded before
local sent = redis.call('HGET', KEYS[1], ARGV[3])
if not sent or string.sub(sent, 1, 5) ~= 'sent|' then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
return 1
