-- Book one seat the user holds live. ARGV[4]: user; ARGV[5]: seat.
-- Reply: {0} or {1, 0, code, holder or false}.
local user, seat = ARGV[4], ARGV[5]
local now = clock()
local code, holder = release_conflict(redis.call('HGET', SEATS, seat), user, now)
if code then
  return {1, 0, code, holder or false}
end
written_at(now)
redis.call('HSET', SEATS, seat, 'B' .. user)
redis.call('ZREM', DUE, seat)
redis.call('HINCRBY', META, 'booked', 1)
return {0}
