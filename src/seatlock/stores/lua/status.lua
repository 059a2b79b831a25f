-- One seat's status. ARGV[2]: seat.
-- Reply: nil (no such seat), {'F'}, {'B', holder} or
-- {'L', holder, deadline, time left (seconds), token}.
local v = redis.call('HGET', SEATS, ARGV[2])
if not v then
  return false
end
local kind = string.byte(v)
if kind == B then
  return {'B', string.sub(v, 2)}
end
if kind == L then
  local now = clock()
  local deadline, token, holder = parse_lock(v)
  if deadline > now then
    return {'L', holder, num(deadline), num(deadline - now), token}
  end
end
return {'F'}
