-- Release the live locks the user ARGV[2] holds on every seat of ARGV[3..], or none.
-- Reply: {0} or {1, position, code, holder or false, ...}.
local user = ARGV[2]
local now = clock()
local found = conflicts(ARGV, 3, #ARGV, release_conflict, user, now)
if found then
  return found
end
written_at(now)
each_chunk('HSET', SEATS, ARGV, 3, #ARGV, function(seat) return seat, 'F' end)
each_chunk('ZREM', DUE, ARGV, 3, #ARGV)
return {0}
