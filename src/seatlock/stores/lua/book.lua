-- Book one seat the user holds live. ARGV[2]: user; ARGV[3]: seat.
-- Reply: '', or the conflict {0, code, holder or false}.
local user, seat = ARGV[2], ARGV[3]
local value = read_one(seat)
local now = clock()
local code, holder = release_conflict(value, user, now)
if code then
  return {0, code, holder or false}
end
redis.call('HSET', SEATS, seat, 'B' .. user, '#booked', num(BOOKED + 1), stamp(now))
redis.call('ZREM', DUE, seat)
return ''
