-- Lock one seat. ARGV[4]: user; ARGV[5]: lock timeout (seconds); ARGV[6]: seat.
-- Reply: {0, deadline, token} or {1, 0, code, holder or false}.
local user, seat = ARGV[4], ARGV[6]
local now = clock()
local code, holder = lock_conflict(redis.call('HGET', SEATS, seat), user, now)
if code then
  return {1, 0, code, holder or false}
end
written_at(now)
local token = num(redis.call('HINCRBY', META, 'tokens', 1))
local deadline = num(now + tonumber(ARGV[5]))
redis.call('HSET', SEATS, seat, 'L' .. deadline .. ':' .. token .. ':' .. user)
redis.call('ZADD', DUE, deadline, seat)
return {0, deadline, token}
