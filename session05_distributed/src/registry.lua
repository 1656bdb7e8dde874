#!lua name=imgreg
-- The worker registry's side in Redis: beats written and records read by Redis's clock,
-- so a worker whose own clock is wrong still looks alive when it is.
--
-- Keys, under a namespace NS (built in Rust by session 04's `Keys`):
--   NS:workers      a sorted set of worker ids, scored by their last beat
--   NS:worker:ID    a hash per worker: info, beat, beat_ms, stopped
-- A single Redis, not a cluster: `list` reads records by a prefix it is given rather than
-- by declared keys, so every function is registered with the `no-cluster` flag.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function register(name, callback)
  redis.register_function{ function_name = name, callback = callback, flags = { 'no-cluster' } }
end

-- beat(KEYS: record, index; ARGV: info, beat, stopped, keep_ms, id): writes a worker's
-- record and notes its beat in the index. Replies Redis's time.
register('imgreg_beat', function(keys, args)
  local now = now_ms()
  redis.call('HSET', keys[1], 'info', args[1], 'beat', args[2], 'beat_ms', now, 'stopped', args[3])
  redis.call('PEXPIRE', keys[1], args[4])
  redis.call('ZADD', keys[2], now, args[5])
  return now
end)

-- list(KEYS: index; ARGV: record prefix): Redis's time, then info, beat, beat_ms and
-- stopped of every worker with a record; index entries whose record expired are dropped.
register('imgreg_list', function(keys, args)
  local out = { now_ms() }
  for _, id in ipairs(redis.call('ZRANGE', keys[1], 0, -1)) do
    local h = redis.call('HMGET', args[1] .. id, 'info', 'beat', 'beat_ms', 'stopped')
    if h[1] then
      table.insert(out, h[1]); table.insert(out, h[2]); table.insert(out, h[3]); table.insert(out, h[4])
    else
      redis.call('ZREM', keys[1], id)
    end
  end
  return out
end)
