-- Shared prelude of every seatlock script (the store prepends it to each one).
-- KEYS: 1 seats (hash), 2 order (list), 3 due (sorted set): one event, one hash slot.
-- ARGV[1]: the time: '' the server's clock, '+<s>' the server's clock plus s seconds,
-- '=<t>' the time t (the last two are testing aids); the operation's own arguments follow.
-- The seats hash maps each seat to 'F' (free), 'B' .. holder (booked) or
-- 'L' .. deadline .. ':' .. token .. ':' .. holder (locked; expired once deadline <= now)
-- and holds the event's meta fields: '#layout', '#clock' (the time of the event's last
-- write), '#tokens' (the last hold token given) and '#booked' (how many seats are
-- booked). Ids are encoded ('i:1', 's:x'), so no seat is named like a meta field; times
-- are server seconds (doubles, written exactly).
local SEATS, ORDER, DUE = KEYS[1], KEYS[2], KEYS[3]
local VERSION = '{LAYOUT}' -- the key layout these scripts read and write
-- Reason codes, as seatlock.stores.codec.REASON_CODES.
local UNKNOWN, IS_BOOKED, HELD_BY_OTHER, HELD_BY_YOU, NOT_LOCKED = 1, 2, 3, 4, 5
local B, L = string.byte('B'), string.byte('L')
local CHUNK = 1000 -- ids per command: unpack() has a limit
local LAST_TIME, TOKENS, BOOKED, META_FIELDS -- the meta fields, as read() found them

-- A number as exact text (Lua's default conversion keeps only 14 digits).
local function num(x)
  return string.format('%.17g', x)
end

-- Values of the seats list[first..last] (false where there is no such seat).
local function hmget(list, first, last)
  local out = {}
  for i = first, last, CHUNK do
    local got = redis.call('HMGET', SEATS, unpack(list, i, math.min(i + CHUNK - 1, last)))
    for j = 1, #got do
      out[#out + 1] = got[j]
    end
  end
  return out
end

-- Every script reads first: hmget_meta, read or read_one.
-- HMGET of the meta fields and the given seats; keeps the meta fields (refusing another
-- layout) and returns the reply, whose seat values start at index 5.
local function hmget_meta(...)
  local got = redis.call('HMGET', SEATS, '#layout', '#clock', '#tokens', '#booked', ...)
  if got[1] and got[1] ~= VERSION then
    error({err = 'SEATLOCK_LAYOUT ' .. got[1]})
  end
  LAST_TIME, TOKENS, BOOKED = tonumber(got[2]), tonumber(got[3]) or 0, tonumber(got[4]) or 0
  META_FIELDS = 0
  for j = 1, 4 do
    if got[j] then
      META_FIELDS = META_FIELDS + 1
    end
  end
  return got
end

-- The values of the seats list[first..last], read with the meta fields in one HMGET
-- (more only past CHUNK seats).
local function read(list, first, last)
  local split = math.min(first + CHUNK - 1, last)
  local got = hmget_meta(unpack(list, first, split))
  local out = {}
  for j = 5, #got do
    out[#out + 1] = got[j]
  end
  if split < last then
    for _, v in ipairs(hmget(list, split + 1, last)) do
      out[#out + 1] = v
    end
  end
  return out
end

-- The value of one seat (false if there is no such seat), read with the meta fields.
local function read_one(seat)
  return hmget_meta(seat)[5]
end

-- The event's time now (see ARGV[1]), but never before the time of the event's last
-- write (a clock may step back; a failover may land on a server whose clock is behind),
-- so an event's time only moves forward. Call read() first.
local function clock()
  local t
  if string.byte(ARGV[1]) == 61 then -- '='
    t = tonumber(string.sub(ARGV[1], 2))
  else
    local time = redis.call('TIME')
    t = time[1] + time[2] / 1000000 + (tonumber(string.sub(ARGV[1], 2)) or 0)
  end
  if LAST_TIME and LAST_TIME > t then
    return LAST_TIME
  end
  return t
end

-- The meta field every write sets (name, value): '#clock', the time of the write.
local function stamp(now)
  return '#clock', num(now)
end

-- A locked seat's deadline, token and holder.
local function parse_lock(v)
  local a = string.find(v, ':', 2, true)
  local b = string.find(v, ':', a + 1, true)
  return tonumber(string.sub(v, 2, a - 1)), string.sub(v, a + 1, b - 1), string.sub(v, b + 1)
end

-- 'F', 'L' or 'B': the state a seat's value means at now.
local function state_of(v, now)
  local kind = string.byte(v)
  if kind == L and parse_lock(v) <= now then
    return 'F'
  end
  return string.char(kind)
end

-- Why user may not lock a seat whose value is v (false if not there), and the holder.
local function lock_conflict(v, user, now)
  if not v then
    return UNKNOWN
  end
  local kind = string.byte(v)
  if kind == B then
    return IS_BOOKED
  end
  if kind == L then
    local deadline, _, holder = parse_lock(v)
    if deadline > now then
      return holder == user and HELD_BY_YOU or HELD_BY_OTHER, holder
    end
  end
  return nil
end

-- Why user may not book or cancel a seat whose value is v, and the other holder.
local function release_conflict(v, user, now)
  if not v then
    return UNKNOWN
  end
  local kind = string.byte(v)
  if kind == B then
    return IS_BOOKED
  end
  if kind == L then
    local deadline, _, holder = parse_lock(v)
    if deadline > now then
      if holder == user then
        return nil
      end
      return HELD_BY_OTHER, holder
    end
  end
  return NOT_LOCKED
end

-- Runs cmd key items... for the ids list[first..last], at most CHUNK ids a command;
-- item(id) gives the arguments for one id (default: the id); the first command also
-- gets the arguments in the table head (if any) before its items.
local function each_chunk(cmd, key, list, first, last, item, head)
  for i = first, last, CHUNK do
    local args = head or {}
    head = nil
    for j = i, math.min(i + CHUNK - 1, last) do
      if item then
        local a, b = item(list[j])
        args[#args + 1] = a
        args[#args + 1] = b
      else
        args[#args + 1] = list[j]
      end
    end
    redis.call(cmd, key, unpack(args))
  end
end

-- Checks seats' values with check(value, user, now); returns the conflicts as a reply
-- {position, code, holder or false, ...} (positions from 0), or nil.
local function conflicts(values, check, user, now)
  local reply = {}
  for i = 1, #values do
    local code, holder = check(values[i], user, now)
    if code then
      reply[#reply + 1] = i - 1
      reply[#reply + 1] = code
      reply[#reply + 1] = holder or false
    end
  end
  if #reply > 0 then
    return reply
  end
  return nil
end
