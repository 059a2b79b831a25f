-- How many seats there are, how many are booked and how many are locked live.
-- Reply: {seats, booked, locked}.
hmget_meta()
local locked = redis.call('ZCOUNT', DUE, '(' .. num(clock()), '+inf')
return {redis.call('HLEN', SEATS) - META_FIELDS, BOOKED, locked}
