-- Free at most ARGV[2] (<= CHUNK) expired locks, earliest deadline first.
-- Every member of DUE is a locked seat scored by its deadline.
-- Reply: {released, 1 if the batch was full (more may be due) else 0}.
hmget_meta()
local now = clock()
local batch = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', DUE, '-inf', num(now), 'LIMIT', 0, batch)
if #due == 0 then
  return {0, 0}
end
each_chunk('HSET', SEATS, due, 1, #due, function(seat) return seat, 'F' end,
  {stamp(now)})
redis.call('ZREM', DUE, unpack(due))
return {#due, #due == batch and 1 or 0}
