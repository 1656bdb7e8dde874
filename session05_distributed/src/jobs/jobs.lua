#!lua name=imgjobs
-- Tiled jobs' side in Redis: each step on a job one atomic function, so however many
-- workers finish tiles at once, a job is counted, assembled and failed exactly once.
--
-- Keys, under a namespace NS (built in Rust from session 04's `Keys`):
--   NS:job:ID         a hash: record, tiles, done, assemblies, assembled_at, failed
--   NS:job:ID:done    the set of tiles done: a tile delivered twice is one member
--   NS:job:ID:events  a stream of what happened (tile, assembled, failed)
-- Every call names the keys it touches; the library is still registered `no-cluster`,
-- since a job's keys and its blobs do not share a hash slot.

local EVENTS_KEPT = 100000

local function register(name, callback)
  redis.register_function{ function_name = name, callback = callback, flags = { 'no-cluster' } }
end

-- ANCHOR: tile_done
-- tile_done(KEYS: job, done, events; ARGV: index, retention_ms): adds the tile to the set,
-- notes it in the events, and tells whether the job is ready to assemble (1), not yet (0),
-- already assembled (2), or unknown (-1: expired or never made).
register('imgjobs_tile_done', function(keys, args)
  local job, done_set, events = keys[1], keys[2], keys[3]
  if redis.call('EXISTS', job) == 0 then return -1 end
  if redis.call('HEXISTS', job, 'assembled_at') == 1 then return 2 end
  local added = redis.call('SADD', done_set, args[1])
  local done = redis.call('SCARD', done_set)
  if added == 1 then
    redis.call('HSET', job, 'done', done)
    redis.call('XADD', events, 'MAXLEN', '~', EVENTS_KEPT, '*', 'event', 'tile', 'index', args[1], 'done', done)
  end
  -- The job's record is kept a retention after its last tile, not after its submission.
  redis.call('PEXPIRE', job, args[2])
  redis.call('PEXPIRE', done_set, args[2])
  redis.call('PEXPIRE', events, args[2])
  if done >= tonumber(redis.call('HGET', job, 'tiles')) then return 1 end
  return 0
end)
-- ANCHOR_END: tile_done

-- ANCHOR: assembled
-- assembled(KEYS: job, events, staging, output; ARGV: output name): counts an assembly
-- and, the first time only, moves its result from the staging key to the output, marks
-- the job assembled and tells clients (1). A later assembly (a redelivered task whose first
-- run finished) throws its staged result away (0), so the output is written once, whole.
-- An expired or failed job stays as it is (0); a staged result that is gone is -1.
register('imgjobs_assembled', function(keys, args)
  local job, events, staging, output = keys[1], keys[2], keys[3], keys[4]
  if redis.call('EXISTS', job) == 0 or redis.call('HEXISTS', job, 'failed') == 1 then
    redis.call('DEL', staging)
    return 0
  end
  redis.call('HINCRBY', job, 'assemblies', 1)
  -- Checked before the job is marked: a script's writes stay when a later call fails.
  if redis.call('HEXISTS', job, 'assembled_at') == 0 and redis.call('EXISTS', staging) == 0 then
    return -1
  end
  local t = redis.call('TIME')
  if redis.call('HSETNX', job, 'assembled_at', t[1] * 1000 + math.floor(t[2] / 1000)) == 1 then
    redis.call('RENAME', staging, output)
    redis.call('XADD', events, '*', 'event', 'assembled', 'output', args[1])
    return 1
  end
  redis.call('DEL', staging)
  return 0
end)
-- ANCHOR_END: assembled

-- assembled_in_place(KEYS: job, events; ARGV: output name): the same for a job whose result
-- its assembly already put in place on a shared folder: counted, marked and told once.
register('imgjobs_assembled_in_place', function(keys, args)
  local job, events = keys[1], keys[2]
  -- An expired job is not made anew, and a failed one (whose files are gone) stays failed.
  if redis.call('EXISTS', job) == 0 then return 0 end
  if redis.call('HEXISTS', job, 'failed') == 1 then return 0 end
  redis.call('HINCRBY', job, 'assemblies', 1)
  local t = redis.call('TIME')
  if redis.call('HSETNX', job, 'assembled_at', t[1] * 1000 + math.floor(t[2] / 1000)) == 1 then
    redis.call('XADD', events, '*', 'event', 'assembled', 'output', args[1])
    return 1
  end
  return 0
end)

-- failed(KEYS: job, events; ARGV: reason): a job that cannot finish, recorded once and
-- told to clients; a late failure of a tile of an assembled job changes nothing.
register('imgjobs_failed', function(keys, args)
  local job, events = keys[1], keys[2]
  if redis.call('EXISTS', job) == 0 then return 0 end
  if redis.call('HEXISTS', job, 'assembled_at') == 1 then return 0 end
  if redis.call('HSETNX', job, 'failed', args[1]) == 1 then
    redis.call('XADD', events, '*', 'event', 'failed', 'reason', args[1])
    local ttl = redis.call('PTTL', job)
    if ttl > 0 then redis.call('PEXPIRE', events, ttl) end
  end
  return 0
end)
