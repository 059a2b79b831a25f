-- Release one seat's live lock held by the user. ARGV[2]: user; ARGV[3]: seat.
-- Reply: '', or the conflict {0, code, holder or false}.
local user, seat = ARGV[2], ARGV[3]
local value = read_one(seat)
local now = clock()
local code, holder = release_conflict(value, user, now)
if code then
  return {0, code, holder or false}
end
redis.call('HSET', SEATS, seat, 'F', stamp(now))
redis.call('ZREM', DUE, seat)
return ''
