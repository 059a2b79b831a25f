-- One seat's status. ARGV[2]: seat.
-- Reply: nil (no such seat), {'F'}, {'B', holder} or
-- {'L', holder, deadline, time left (seconds), token}.
local value = read_one(ARGV[2])
if not value then
  return false
end
local kind = string.byte(value)
if kind == B then
  return {'B', string.sub(value, 2)}
end
if kind == L then
  local now = clock()
  local deadline, token, holder = parse_lock(value)
  if deadline > now then
    return {'L', holder, num(deadline), num(deadline - now), token}
  end
end
return {'F'}
