-- Book every seat of ARGV[3..], each held live by the user ARGV[2], or none.
-- Reply: '', or the conflicts {position, code, holder or false, ...}.
local user = ARGV[2]
local values = read(ARGV, 3, #ARGV)
local now = clock()
local found = conflicts(values, release_conflict, user, now)
if found then
  return found
end
local booked = 'B' .. user
each_chunk('HSET', SEATS, ARGV, 3, #ARGV, function(seat) return seat, booked end,
  {'#booked', num(BOOKED + #values), stamp(now)})
each_chunk('ZREM', DUE, ARGV, 3, #ARGV)
return ''
