-- Release the live locks the user ARGV[2] holds on every seat of ARGV[3..], or none.
-- Reply: '', or the conflicts {position, code, holder or false, ...}.
local user = ARGV[2]
local values = read(ARGV, 3, #ARGV)
local now = clock()
local found = conflicts(values, release_conflict, user, now)
if found then
  return found
end
each_chunk('HSET', SEATS, ARGV, 3, #ARGV, function(seat) return seat, 'F' end,
  {stamp(now)})
each_chunk('ZREM', DUE, ARGV, 3, #ARGV)
return ''
