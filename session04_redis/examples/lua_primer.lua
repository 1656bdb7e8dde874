#!lua name=primer
-- The primer's library: three small Redis functions, loaded with FUNCTION LOAD and called
-- with FCALL by examples/lua_primer.rs. Each one runs atomically: no other client's command
-- runs between its first line and its return.

-- ANCHOR: now_ms
-- The server's clock in milliseconds. TIME replies {seconds, microseconds}, as strings.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- ANCHOR_END: now_ms

-- ANCHOR: take
-- take(KEYS[1] = a counter, ARGV[1] = its cap): adds one to the counter and replies the new
-- count, or fails with a CAPPED error when the counter is already at its cap.
local function take(keys, args)
  local cap = tonumber(args[1])
  -- tonumber also reads 'inf' and 'nan': a cap must be a whole number.
  if cap == nil or cap ~= math.floor(cap) or cap < 0 or cap == math.huge then
    return redis.error_reply('BADCAP the cap must be a whole number, got ' .. tostring(args[1]))
  end
  local used = tonumber(redis.call('GET', keys[1])) or 0
  if used >= cap then
    return redis.error_reply('CAPPED ' .. keys[1] .. ' is at its cap of ' .. cap)
  end
  return redis.call('INCR', keys[1])
end
-- ANCHOR_END: take

-- ANCHOR: move
-- move(KEYS[1] = from, KEYS[2] = to, KEYS[3] = a hash of times): moves the oldest item of
-- the list `from` to the end of the list `to`, and records when in the hash. Replies
-- {item, time in ms}, or nil when `from` is empty.
local function move(keys, args)
  local item = redis.call('LPOP', keys[1])
  if not item then
    return nil -- LPOP on an empty list replies nil, which Lua sees as false
  end
  local now = now_ms()
  redis.call('RPUSH', keys[2], item)
  redis.call('HSET', keys[3], item, now)
  return { item, now }
end
-- ANCHOR_END: move

-- ANCHOR: count
-- count(KEYS[1] = a list): how many items it holds. It writes nothing, so it may run
-- with FCALL_RO, on a read-only replica too.
local function count(keys, args)
  return redis.call('LLEN', keys[1])
end
-- ANCHOR_END: count

-- ANCHOR: register
redis.register_function{ function_name = 'primer_take', callback = take }
redis.register_function{ function_name = 'primer_move', callback = move }
redis.register_function{
  function_name = 'primer_count',
  callback = count,
  flags = { 'no-writes' },
}
-- ANCHOR_END: register
