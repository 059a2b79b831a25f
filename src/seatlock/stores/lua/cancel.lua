-- Release one seat's live lock held by the user. ARGV[2]: user; ARGV[3]: seat.
-- Reply: {0} or {1, 0, code, holder or false}.
local user, seat = ARGV[2], ARGV[3]
local now = clock()
local code, holder = release_conflict(redis.call('HGET', SEATS, seat), user, now)
if code then
  return {1, 0, code, holder or false}
end
written_at(now)
redis.call('HSET', SEATS, seat, 'F')
redis.call('ZREM', DUE, seat)
return {0}
