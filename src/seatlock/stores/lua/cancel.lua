-- Release one seat's live lock held by the user. ARGV[4]: user; ARGV[5]: seat.
-- Reply: {0} or {1, 0, code, holder or false}.
local user, seat = ARGV[4], ARGV[5]
local now = clock()
local code, holder = release_conflict(redis.call('HGET', SEATS, seat), user, now)
if code then
  return {1, 0, code, holder or false}
end
written_at(now)
redis.call('HSET', SEATS, seat, 'F')
redis.call('ZREM', DUE, seat)
return {0}
