-- Lock every seat of ARGV[4..] with one deadline and token, or none.
-- ARGV[2]: user; ARGV[3]: lock timeout (seconds).
-- Reply: {0, deadline, token} or {1, position, code, holder or false, ...}.
local user = ARGV[2]
local now = clock()
local found = conflicts(ARGV, 4, #ARGV, lock_conflict, user, now)
if found then
  return found
end
local token = num(TOKENS + 1)
written_at(now, 'tokens', token)
local deadline = num(now + tonumber(ARGV[3]))
local value = 'L' .. deadline .. ':' .. token .. ':' .. user
each_chunk('HSET', SEATS, ARGV, 4, #ARGV, function(seat) return seat, value end)
each_chunk('ZADD', DUE, ARGV, 4, #ARGV, function(seat) return deadline, seat end)
return {0, deadline, token}
