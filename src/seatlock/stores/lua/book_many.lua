-- Book every seat of ARGV[4..], each held live by the user ARGV[3], or none.
-- Reply: {0} or {1, position, code, holder or false, ...}.
local user = ARGV[3]
local found = conflicts(ARGV, 4, #ARGV, release_conflict, user, now_us())
if found then
  return found
end
local value = 'B' .. user
each_chunk('HSET', SEATS, ARGV, 4, #ARGV, function(seat) return seat, value end)
each_chunk('ZREM', DUE, ARGV, 4, #ARGV)
redis.call('HINCRBY', META, 'booked', #ARGV - 3)
return {0}
