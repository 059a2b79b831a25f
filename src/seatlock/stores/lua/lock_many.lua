-- Lock every seat of ARGV[4..] with one deadline and token, or none.
-- ARGV[2]: user; ARGV[3]: lock timeout (seconds).
-- Reply: 'deadline token', or the conflicts {position, code, holder or false, ...}.
local user = ARGV[2]
local values = read(ARGV, 4, #ARGV)
local now = clock()
local found = conflicts(values, lock_conflict, user, now)
if found then
  return found
end
local token = num(TOKENS + 1)
local deadline = num(now + tonumber(ARGV[3]))
local lock = 'L' .. deadline .. ':' .. token .. ':' .. user
each_chunk('HSET', SEATS, ARGV, 4, #ARGV, function(seat) return seat, lock end,
  {'#tokens', token, stamp(now)})
each_chunk('ZADD', DUE, ARGV, 4, #ARGV, function(seat) return deadline, seat end)
return deadline .. ' ' .. token
