-- Release the live locks the user ARGV[3] holds on every seat of ARGV[4..], or none.
-- Reply: {0} or {1, position, code, holder or false, ...}.
local user = ARGV[3]
local found = conflicts(ARGV, 4, #ARGV, release_conflict, user, now_us())
if found then
  return found
end
each_chunk('HSET', SEATS, ARGV, 4, #ARGV, function(seat) return seat, 'F' end)
each_chunk('ZREM', DUE, ARGV, 4, #ARGV)
return {0}
