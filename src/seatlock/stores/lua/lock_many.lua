-- Lock every seat of ARGV[6..] with one deadline and token, or none.
-- ARGV[4]: user; ARGV[5]: lock timeout (seconds).
-- Reply: {0, deadline, token} or {1, position, code, holder or false, ...}.
local user = ARGV[4]
local now = clock()
local found = conflicts(ARGV, 6, #ARGV, lock_conflict, user, now)
if found then
  return found
end
written_at(now)
local token = num(redis.call('HINCRBY', META, 'tokens', 1))
local deadline = num(now + tonumber(ARGV[5]))
local value = 'L' .. deadline .. ':' .. token .. ':' .. user
each_chunk('HSET', SEATS, ARGV, 6, #ARGV, function(seat) return seat, value end)
each_chunk('ZADD', DUE, ARGV, 6, #ARGV, function(seat) return deadline, seat end)
return {0, deadline, token}
