-- Book one seat the user holds live. ARGV[3]: user; ARGV[4]: seat.
-- Reply: {0} or {1, 0, code, holder or false}.
local user, seat = ARGV[3], ARGV[4]
local code, holder = release_conflict(redis.call('HGET', SEATS, seat), user, now_us())
if code then
  return {1, 0, code, holder or false}
end
redis.call('HSET', SEATS, seat, 'B' .. user)
redis.call('ZREM', DUE, seat)
redis.call('HINCRBY', META, 'booked', 1)
return {0}
