-- Lock every seat of ARGV[5..] with one deadline and token, or none.
-- ARGV[3]: user; ARGV[4]: lock timeout (us).
-- Reply: {0, deadline, token} or {1, position, code, holder or false, ...}.
local user = ARGV[3]
local now = now_us()
local found = conflicts(ARGV, 5, #ARGV, lock_conflict, user, now)
if found then
  return found
end
local token = num(redis.call('HINCRBY', META, 'tokens', 1))
local deadline = num(now + tonumber(ARGV[4]))
local value = 'L' .. deadline .. ':' .. token .. ':' .. user
each_chunk('HSET', SEATS, ARGV, 5, #ARGV, function(seat) return seat, value end)
each_chunk('ZADD', DUE, ARGV, 5, #ARGV, function(seat) return deadline, seat end)
return {0, deadline, token}
