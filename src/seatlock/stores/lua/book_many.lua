-- Book every seat of ARGV[5..], each held live by the user ARGV[4], or none.
-- Reply: {0} or {1, position, code, holder or false, ...}.
local user = ARGV[4]
local now = clock()
local found = conflicts(ARGV, 5, #ARGV, release_conflict, user, now)
if found then
  return found
end
written_at(now)
local value = 'B' .. user
each_chunk('HSET', SEATS, ARGV, 5, #ARGV, function(seat) return seat, value end)
each_chunk('ZREM', DUE, ARGV, 5, #ARGV)
redis.call('HINCRBY', META, 'booked', #ARGV - 4)
return {0}
