-- Lock one seat. ARGV[2]: user; ARGV[3]: lock timeout (seconds); ARGV[4]: seat.
-- Reply: {0, deadline, token} or {1, 0, code, holder or false}.
local user, seat = ARGV[2], ARGV[4]
local now = clock()
local code, holder = lock_conflict(redis.call('HGET', SEATS, seat), user, now)
if code then
  return {1, 0, code, holder or false}
end
local token = num(TOKENS + 1)
written_at(now, 'tokens', token)
local deadline = num(now + tonumber(ARGV[3]))
redis.call('HSET', SEATS, seat, 'L' .. deadline .. ':' .. token .. ':' .. user)
redis.call('ZADD', DUE, deadline, seat)
return {0, deadline, token}
