-- Release one seat's live lock held by the user. ARGV[3]: user; ARGV[4]: seat.
-- Reply: {0} or {1, 0, code, holder or false}.
local user, seat = ARGV[3], ARGV[4]
local code, holder = release_conflict(redis.call('HGET', SEATS, seat), user, now_us())
if code then
  return {1, 0, code, holder or false}
end
redis.call('HSET', SEATS, seat, 'F')
redis.call('ZREM', DUE, seat)
return {0}
