-- Lock one seat. ARGV[2]: user; ARGV[3]: lock timeout (seconds); ARGV[4]: seat.
-- Reply: 'deadline token', or the conflict {0, code, holder or false}.
local user, seat = ARGV[2], ARGV[4]
local value = read_one(seat)
local now = clock()
local code, holder = lock_conflict(value, user, now)
if code then
  return {0, code, holder or false}
end
local token = num(TOKENS + 1)
local deadline = num(now + tonumber(ARGV[3]))
local lock = 'L' .. deadline .. ':' .. token .. ':' .. user
redis.call('HSET', SEATS, seat, lock, '#tokens', token, stamp(now))
redis.call('ZADD', DUE, deadline, seat)
return deadline .. ' ' .. token
