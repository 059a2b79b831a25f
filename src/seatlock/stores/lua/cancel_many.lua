-- Release the live locks the user ARGV[4] holds on every seat of ARGV[5..], or none.
-- Reply: {0} or {1, position, code, holder or false, ...}.
local user = ARGV[4]
local now = clock()
local found = conflicts(ARGV, 5, #ARGV, release_conflict, user, now)
if found then
  return found
end
written_at(now)
each_chunk('HSET', SEATS, ARGV, 5, #ARGV, function(seat) return seat, 'F' end)
each_chunk('ZREM', DUE, ARGV, 5, #ARGV)
return {0}
