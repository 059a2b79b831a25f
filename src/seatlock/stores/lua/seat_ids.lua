-- The event's seat ids in the order added; ARGV[2]: '' for all, else only those in
-- state 'F', 'L' or 'B' now.
local ids = redis.call('LRANGE', ORDER, 0, -1)
local want = ARGV[2]
if want == '' then
  hmget_meta()
  return ids
end
local values = read(ids, 1, #ids)
local now = clock()
local out = {}
for i = 1, #ids do
  if state_of(values[i], now) == want then
    out[#out + 1] = ids[i]
  end
end
return out
