-- Lock one seat. ARGV[3]: user; ARGV[4]: lock timeout (us); ARGV[5]: seat.
-- Reply: {0, deadline, token} or {1, 0, code, holder or false}.
local user, seat = ARGV[3], ARGV[5]
local now = now_us()
local code, holder = lock_conflict(redis.call('HGET', SEATS, seat), user, now)
if code then
  return {1, 0, code, holder or false}
end
local token = num(redis.call('HINCRBY', META, 'tokens', 1))
local deadline = num(now + tonumber(ARGV[4]))
redis.call('HSET', SEATS, seat, 'L' .. deadline .. ':' .. token .. ':' .. user)
redis.call('ZADD', DUE, deadline, seat)
return {0, deadline, token}
