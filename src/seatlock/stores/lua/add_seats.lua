-- Add the missing seats of ARGV[2..] (pairs: seat, the key of its text twin or ''),
-- free, at the end of the order; never touch a seat that is there.
-- Reply: {0}, or {1, position, ...}: the new seats whose twin the event holds (nothing
-- is added then).
local seats, twins = {}, {}
for i = 2, #ARGV, 2 do
  seats[#seats + 1] = ARGV[i]
  twins[#twins + 1] = ARGV[i + 1]
end
local have = read(seats, 1, #seats)
local new, new_twins, at = {}, {}, {}
for i = 1, #seats do
  if not have[i] then
    new[#new + 1] = seats[i]
    new_twins[#new_twins + 1] = twins[i]
    at[#at + 1] = i - 1
  end
end
local clash = hmget(new_twins, 1, #new_twins)
local reply = {1}
for i = 1, #clash do
  if clash[i] then
    reply[#reply + 1] = at[i]
  end
end
if #reply > 1 then
  return reply
end
redis.call('HSET', SEATS, '#layout', VERSION)
each_chunk('HSET', SEATS, new, 1, #new, function(seat) return seat, 'F' end)
each_chunk('RPUSH', ORDER, new, 1, #new)
return {0}
