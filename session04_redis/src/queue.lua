#!lua name=imgq
-- The Redis side of the queue: one function per queue call, each run atomically by Redis,
-- so no two workers ever see a task's hash, index and stream disagree. Loaded with
-- FUNCTION LOAD REPLACE.
--
-- Keys, under a namespace NS:
--   NS:stream:CLASS  a stream per capability class, consumer group `workers`
--   NS:class-use     the classes that have a stream, scored by when a task last went in
--   NS:task:ID       a hash per task: task, class, entry, state, attempts, deliveries,
--                    worker, consumer, receipt, enqueued_at, started_at, finished_at,
--                    duration_ms, error_kind, error_message, retry_at, history (a line
--                    per attempt that did not succeed)
--   NS:cursor:CLASS  where the last sweep of the class's pending entries stopped
--   NS:state:STATE   a sorted set of task ids per state, scored by when they entered it
--   NS:delayed       tasks waiting out a retry backoff, scored by when they may run again
--   NS:dead          the dead-letter stream
--   NS:stats         counters: enqueued, succeeded, failed, retried, dead, expired_leases, malformed
-- A single Redis, not a cluster: the functions build keys from the namespace, so every
-- function is registered with the `no-cluster` flag and Redis refuses them in a cluster.

local GROUP = 'workers'
local DEAD_LETTERS_KEPT = 10000
local HISTORY_KEPT = 20
local PROMOTE_AT_ONCE = 100
-- The most XAUTOCLAIM calls one sweep makes, over all classes: a sweep costs the same
-- however many classes there are (the classes' order rotates from call to call).
local SWEEP_CALLS = 50

local function register(name, callback)
  redis.register_function{ function_name = name, callback = callback, flags = { 'no-cluster' } }
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

-- Calls `f` with the items of `list` as its arguments, a thousand at a time: Lua's
-- `unpack` cannot spread more than a few thousand values onto its stack.
local function in_slices(list, f)
  for i = 1, #list, 1000 do f(unpack(list, i, math.min(i + 999, #list))) end
end

-- Moves tasks `ids` (none is fine) from one state's index to another's, with one ZREM and
-- one ZADD for all of them.
local function move_all(ns, ids, from, to, now)
  if from then
    in_slices(ids, function(...) redis.call('ZREM', ns .. ':state:' .. from, ...) end)
  end
  local scored = {}
  for _, id in ipairs(ids) do
    table.insert(scored, now)
    table.insert(scored, id)
  end
  in_slices(scored, function(...) redis.call('ZADD', ns .. ':state:' .. to, ...) end)
end

local function move(ns, id, from, to, now)
  move_all(ns, { id }, from, to, now)
end

-- Adds `by` (1 when not given) to a counter.
local function count(ns, name, by)
  redis.call('HINCRBY', ns .. ':stats', name, by or 1)
end

-- The stream of `class`, made (with its group) when missing, and the class listed as used
-- `now`, so workers read it. Every XADD of a task goes through here.
local function stream_of(ns, class, now)
  local stream = ns .. ':stream:' .. class
  if redis.call('ZADD', ns .. ':class-use', now, class) == 1 or redis.call('EXISTS', stream) == 0 then
    pcall(redis.call, 'XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM')
  end
  return stream
end

-- Stream entries are done with: acknowledged and deleted, so streams hold only live work.
local function drop_entries(ns, class, entries)
  local stream = ns .. ':stream:' .. class
  in_slices(entries, function(...)
    redis.call('XACK', stream, GROUP, ...)
    redis.call('XDEL', stream, ...)
  end)
end

local function drop_entry(ns, class, entry)
  drop_entries(ns, class, { entry })
end

-- A final state in the task's hash: timestamps (`started`, when known, gives the duration),
-- the receipt (and any other `...` fields) cleared, the hash to expire.
local function close(hash, to, now, started, retention_ms, ...)
  if started then
    redis.call('HSET', hash, 'state', to, 'finished_at', now, 'duration_ms', now - started)
  else
    redis.call('HSET', hash, 'state', to, 'finished_at', now)
  end
  redis.call('HDEL', hash, 'receipt', ...)
  redis.call('PEXPIRE', hash, retention_ms)
end

-- A final state: the hash closed and the task moved to the state's index. The caller
-- trims the index with `forget`, once per call.
local function finish(ns, id, hash, from, to, now, retention_ms)
  close(hash, to, now, tonumber(redis.call('HGET', hash, 'started_at')), retention_ms)
  move(ns, id, from, to, now)
end

-- A final state's index forgets what the hashes forgot (readers trim the other final
-- indexes with `imgq_trim`).
local function forget(ns, state, now, retention_ms)
  redis.call('ZREMRANGEBYSCORE', ns .. ':state:' .. state, '-inf', now - retention_ms)
end

-- Running tasks `ids` (none is fine) reached the final state `to`: moved to its index,
-- the index trimmed, the state's counter raised.
local function finished(ns, ids, to, now, retention_ms)
  if #ids == 0 then return end
  move_all(ns, ids, 'running', to, now)
  forget(ns, to, now, retention_ms)
  count(ns, to, #ids)
end

-- Appends a line to a task's history, keeping the last HISTORY_KEPT lines.
local function remember(hash, line)
  line = string.gsub(line, '[\r\n]+', ' ')
  local old = redis.call('HGET', hash, 'history')
  local text = line
  if old and old ~= '' then text = old .. '\n' .. line end
  local lines = {}
  for l in string.gmatch(text, '[^\n]+') do table.insert(lines, l) end
  while #lines > HISTORY_KEPT do table.remove(lines, 1) end
  redis.call('HSET', hash, 'history', table.concat(lines, '\n'))
end

-- Who held an attempt: the pool's worker and the process (consumer) it ran in.
local function holder(hash)
  local worker, consumer = unpack(redis.call('HMGET', hash, 'worker', 'consumer'))
  return (worker or '?') .. '@' .. (consumer or '?')
end

local function dead_letter(ns, class, entry, id, reason, payload, now)
  local history = ''
  if id and id ~= '' then history = redis.call('HGET', ns .. ':task:' .. id, 'history') or '' end
  redis.call('XADD', ns .. ':dead', 'MAXLEN', '~', DEAD_LETTERS_KEPT, '*',
    'id', id, 'class', class, 'entry', entry, 'reason', reason, 'payload', payload, 'at', now,
    'history', history)
end

-- ANCHOR: bury
-- An entry no worker can read: kept in the dead-letter stream with the reason, removed
-- from its stream, and its task (when there is one) marked dead.
local function bury(ns, class, entry, id, reason, now, retention_ms)
  local stream = ns .. ':stream:' .. class
  local raw = redis.call('XRANGE', stream, entry, entry)[1]
  local payload = ''
  if raw then payload = field(raw[2], 'task') or cjson.encode(raw[2]) end
  dead_letter(ns, class, entry, id, reason, payload, now)
  drop_entry(ns, class, entry)
  count(ns, 'malformed')
  local hash = ns .. ':task:' .. id
  local state = id ~= '' and redis.call('HGET', hash, 'state')
  if state and state ~= 'succeeded' and state ~= 'failed' and state ~= 'dead' then
    redis.call('HSET', hash, 'error_kind', 'job', 'error_message', 'malformed task: ' .. reason)
    finish(ns, id, hash, state, 'dead', now, retention_ms)
    forget(ns, 'dead', now, retention_ms)
    count(ns, 'dead')
  end
end
-- ANCHOR_END: bury

-- ANCHOR: start
-- A stream entry delivered to a worker becomes an attempt: the task is Running, with one
-- more attempt and a receipt naming this delivery. Appends to `out` what the worker gets;
-- with `moves`, leaves the move to the running index to the caller, which makes one for
-- all the tasks it starts. One HMGET reads the hash and one HSET writes it (an HDEL clears
-- a retried attempt's duration): every command here costs Redis time per task.
local function start(ns, class, entry, id, worker, consumer, lease_ms, max_attempts, now, retention_ms, out, moves)
  local hash = ns .. ':task:' .. (id or '')
  local state, current, attempts, deliveries, payload = false, false, false, false, false
  if id then
    state, current, attempts, deliveries, payload = unpack(redis.call('HMGET', hash,
      'state', 'entry', 'attempts', 'deliveries', 'task'))
  end
  if not state then
    bury(ns, class, entry, id or '', 'no task record for this entry (not enqueued through the queue, or expired)', now, retention_ms)
    return
  end
  if state == 'succeeded' or state == 'failed' or state == 'dead' or current ~= entry then
    drop_entry(ns, class, entry) -- a leftover of a finished or re-sent task
    return
  end
  attempts = (tonumber(attempts) or 0) + 1
  if state == 'running' then
    -- Its lease ran out: the worker that held it died, hung or lost its network.
    count(ns, 'expired_leases')
    local who = holder(hash)
    redis.call('HSET', hash, 'error_kind', 'worker', 'error_message',
      'lease expired: worker ' .. who .. ' did not finish within ' .. lease_ms .. ' ms')
    remember(hash, 'attempt ' .. (attempts - 1) .. ' by ' .. who .. ': lease expired (worker gone or cut off) at ' .. now)
    if attempts > max_attempts then
      finish(ns, id, hash, state, 'dead', now, retention_ms)
      forget(ns, 'dead', now, retention_ms)
      count(ns, 'dead')
      dead_letter(ns, class, entry, id, 'no attempts left: its last lease expired',
        payload, now)
      drop_entry(ns, class, entry)
      return
    end
    count(ns, 'retried')
  end
  -- Deliveries only ever grow (attempts shrink on release), so each receipt is new.
  deliveries = (tonumber(deliveries) or 0) + 1
  local receipt = entry .. '/' .. deliveries
  redis.call('HSET', hash, 'state', 'running', 'worker', worker, 'consumer', consumer,
    'started_at', now, 'receipt', receipt, 'attempts', attempts, 'deliveries', deliveries)
  if state ~= 'pending' then redis.call('HDEL', hash, 'duration_ms') end
  if moves then
    -- The caller moves the tasks it started to the running index together.
    moves[state] = moves[state] or {}
    table.insert(moves[state], id)
  else
    move(ns, id, state, 'running', now)
  end
  table.insert(out, { class, entry, id, attempts, receipt, now + lease_ms, payload })
end
-- ANCHOR_END: start

-- ANCHOR: enqueue
-- enqueue_many(ns, capacity, id, payload, class, id, payload, class, ...): new tasks, each
-- pending at the end of its class's stream; capacity -1 is no bound. Replies a word per
-- task, in order: `ok`, `duplicate`, or `full`. A bulk submitter sends hundreds of tasks
-- in one call, and the work they share (the clock, the index, the counter) runs once.
local function enqueue_many(args)
  local ns, capacity = args[1], tonumber(args[2])
  if not capacity or #args < 5 or (#args - 2) % 3 ~= 0 then
    return redis.error_reply('ERR imgq_enqueue_many: a capacity, then an id, payload and class per task')
  end
  local waiting = 0
  if capacity >= 0 then
    waiting = redis.call('ZCARD', ns .. ':state:pending') + redis.call('ZCARD', ns .. ':state:retrying')
  end
  local now = now_ms()
  local replies, streams, added = {}, {}, {}
  for i = 3, #args - 2, 3 do
    local id, payload, class = args[i], args[i + 1], args[i + 2]
    local hash = ns .. ':task:' .. id
    if redis.call('EXISTS', hash) == 1 then
      table.insert(replies, 'duplicate')
    elseif capacity >= 0 and waiting >= capacity then
      table.insert(replies, 'full')
    else
      streams[class] = streams[class] or stream_of(ns, class, now)
      local entry = redis.call('XADD', streams[class], '*', 'id', id, 'task', payload)
      redis.call('HSET', hash, 'task', payload, 'class', class, 'entry', entry,
        'state', 'pending', 'attempts', 0, 'enqueued_at', now)
      waiting = waiting + 1
      table.insert(added, id)
      table.insert(replies, 'ok')
    end
  end
  if #added > 0 then
    move_all(ns, added, nil, 'pending', now)
    count(ns, 'enqueued', #added)
  end
  return replies
end
register('imgq_enqueue_many', function(_, args) return enqueue_many(args) end)
-- ANCHOR_END: enqueue

-- ANCHOR: promote
-- Tasks whose retry backoff is over go back to the end of their class's stream.
local function promote(ns, now)
  local delayed = ns .. ':delayed'
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, PROMOTE_AT_ONCE)) do
    redis.call('ZREM', delayed, id)
    local hash = ns .. ':task:' .. id
    local state, class, payload = unpack(redis.call('HMGET', hash, 'state', 'class', 'task'))
    if state == 'retrying' and class and payload then
      local entry = redis.call('XADD', stream_of(ns, class, now), '*', 'id', id, 'task', payload)
      redis.call('HSET', hash, 'entry', entry)
      redis.call('HDEL', hash, 'retry_at')
    end
  end
end
-- ANCHOR_END: promote

-- ANCHOR: reserve
-- reserve_many(ns, consumer, lease_ms, max_attempts, retention_ms, sweep, class_idle_ms, n,
-- worker_1 ... worker_n, class...): a task for each of the n workers (the slots of one
-- process) that the classes have. With `sweep` = 1, first takes over one entry whose lease
-- ran out (XAUTOCLAIM, going on from where the last sweep of the class stopped); then
-- reads new entries (XREADGROUP), trying the classes in order. Replies a list of up to n
-- started attempts, the i-th for worker i, each {how, lease fields...} with `how` =
-- `claimed` or `read`.
local function reserve_many(args)
  local ns, consumer = args[1], args[2]
  local lease_ms, max_attempts, retention_ms = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  local class_idle_ms, n = tonumber(args[7]), tonumber(args[8])
  local numbers = { lease_ms, max_attempts, retention_ms, class_idle_ms, n }
  for i = 1, 5 do -- not ipairs: it would stop at the first argument that is not a number
    if numbers[i] ~= math.floor(numbers[i] or 0.5) then
      return redis.error_reply('ERR imgq_reserve_many: arguments 3, 4, 5, 7 and 8 must be whole numbers')
    end
  end
  if n < 1 or n > 1000 or #args < 8 + n then
    return redis.error_reply('ERR imgq_reserve_many: n must be 1 to 1000, with n workers, got ' .. args[8])
  end
  local workers = { unpack(args, 9, 8 + n) }
  local first_class = 9 + n
  local now = now_ms()
  local out = {}
  promote(ns, now)
  if args[6] == '1' then
    local calls = 0
    -- A task waiting out a backoff has no entry, but its class must stay listed: workers
    -- only call this function (which promotes it) for classes they know.
    local backing_off = redis.call('ZCARD', ns .. ':delayed') > 0
    for i = first_class, #args do
      local class = args[i]
      local stream, cursor_key = ns .. ':stream:' .. class, ns .. ':cursor:' .. class
      if redis.call('XLEN', stream) == 0 then
        -- Nothing new and nothing pending (acked entries are deleted): nothing to sweep.
        -- A class unused for `class_idle_ms` (and no retry backing off) goes, with its
        -- stream and consumers, until a task needs it again (`stream_of` makes them anew):
        -- sweeps and `retire` walk the classes in use, not every class ever seen.
        local used = tonumber(redis.call('ZSCORE', ns .. ':class-use', class)) or 0
        if not backing_off and now - used >= class_idle_ms then
          redis.call('ZREM', ns .. ':class-use', class)
          redis.call('DEL', stream, cursor_key)
        end
      elseif #out == 0 then
        local cursor = redis.call('GET', cursor_key) or '0-0'
        -- Each call looks at up to 10 pending entries; stop at a full pass or the budget.
        while calls < SWEEP_CALLS do
          calls = calls + 1
          local claimed = redis.call('XAUTOCLAIM', stream, GROUP, consumer, lease_ms, cursor, 'COUNT', 1)
          cursor = claimed[1]
          for _, e in ipairs(claimed[2]) do
            start(ns, class, e[1], field(e[2], 'id'), workers[1], consumer, lease_ms, max_attempts, now, retention_ms, out)
          end
          if #out > 0 or cursor == '0-0' then break end
        end
        redis.call('SET', cursor_key, cursor)
        if #out > 0 then table.insert(out[1], 1, 'claimed') end
      end
    end
  end
  local gone = nil
  for i = first_class, #args do
    local class = args[i]
    local stream = ns .. ':stream:' .. class
    local wanted = n - #out
    if wanted == 0 then break end
    -- A class the worker still lists may have just gone (above, or in another's sweep).
    -- A stream without its group is an error for the caller to see (it reads its classes
    -- again), unless tasks started: then the call returns those.
    local read = redis.call('EXISTS', stream) == 1 and redis.pcall('XREADGROUP', 'GROUP', GROUP,
      consumer, 'COUNT', wanted, 'STREAMS', stream, '>')
    if type(read) == 'table' and read.err then
      gone = read -- reported only if no class had a task
    elseif read then
      local moves = {}
      for _, e in ipairs(read[1][2]) do
        local before = #out
        start(ns, class, e[1], field(e[2], 'id'), workers[#out + 1], consumer, lease_ms, max_attempts, now, retention_ms, out, moves)
        if #out > before then table.insert(out[#out], 1, 'read') end
      end
      for from, ids in pairs(moves) do move_all(ns, ids, from, 'running', now) end
    end
  end
  if gone and #out == 0 then return gone end
  return out
end
register('imgq_reserve_many', function(_, args) return reserve_many(args) end)
-- ANCHOR_END: reserve

-- start(ns, worker, lease_ms, max_attempts, retention_ms, class, entry, id, consumer): an entry a
-- blocking XREADGROUP delivered becomes an attempt, as in reserve.
register('imgq_start', function(_, args)
  local out = {}
  local id = args[8]
  if id == '' then id = nil end
  start(args[1], args[6], args[7], id, args[2], args[9], tonumber(args[3]), tonumber(args[4]), now_ms(),
    tonumber(args[5]), out)
  if #out > 0 then table.insert(out[1], 1, 'read') return out[1] end
  return {}
end)

-- ANCHOR: current
-- Checks that `receipt` names the current delivery of a running task; the hash, or nil.
local function current(ns, id, receipt)
  local hash = ns .. ':task:' .. id
  local state, held = unpack(redis.call('HMGET', hash, 'state', 'receipt'))
  if state ~= 'running' or held ~= receipt then return nil end
  return hash
end
-- ANCHOR_END: current

-- ANCHOR: ack
-- ack_many(ns, retention_ms, id...): the tasks succeeded. A word per task, in order:
-- `completed`, `duplicate` (it had succeeded), or `lost` (back in the queue, or failed).
local function ack_many(args)
  local ns, retention_ms = args[1], tonumber(args[2])
  if not retention_ms then return redis.error_reply('ERR imgq_ack_many: retention must be a number') end
  local now = now_ms()
  local replies, done, entries = {}, {}, {}
  for i = 3, #args do
    local id = args[i]
    local hash = ns .. ':task:' .. id
    local state, class, entry, started = unpack(redis.call('HMGET', hash, 'state', 'class', 'entry', 'started_at'))
    if state == 'succeeded' then
      table.insert(replies, 'duplicate')
    elseif state ~= 'running' then
      table.insert(replies, 'lost')
    else
      close(hash, 'succeeded', now, tonumber(started), retention_ms, 'error_kind', 'error_message')
      entries[class] = entries[class] or {}
      table.insert(entries[class], entry)
      table.insert(done, id)
      table.insert(replies, 'completed')
    end
  end
  for class, ids in pairs(entries) do drop_entries(ns, class, ids) end
  finished(ns, done, 'succeeded', now, retention_ms)
  return replies
end
register('imgq_ack_many', function(_, args) return ack_many(args) end)
-- ANCHOR_END: ack

-- The previous version's calls, one task each, kept so that workers of both versions can
-- share a Redis during a rolling update: every process loads the library when it
-- connects, so whichever started last decides which library Redis holds.
-- enqueue(ns, id, payload, class, capacity) replies one word.
register('imgq_enqueue', function(_, args)
  local replies = enqueue_many({ args[1], args[5], args[2], args[3], args[4] })
  return replies[1] or replies
end)
-- ack(ns, id, retention_ms) replies one word.
register('imgq_ack', function(_, args)
  local replies = ack_many({ args[1], args[3], args[2] })
  return replies[1] or replies
end)
-- reserve(ns, consumer, worker, lease_ms, max_attempts, retention_ms, sweep,
-- class_idle_ms, class...) replies one attempt, or nothing.
register('imgq_reserve', function(_, args)
  local many = { args[1], args[2], args[4], args[5], args[6], args[7], args[8], '1', args[3] }
  for i = 9, #args do table.insert(many, args[i]) end
  local out = reserve_many(many)
  return out[1] or out
end)

-- ANCHOR: nack
-- nack(ns, id, receipt, kind, message, max_attempts, retention_ms, delay_ms): the attempt
-- failed. A job failure is final; a worker failure waits `delay_ms` (the backoff) and goes
-- to the end of the stream again while attempts remain, and to the dead letters after the
-- last. Replies the new state.
register('imgq_nack', function(_, args)
  local ns, id, receipt, kind, message = args[1], args[2], args[3], args[4], args[5]
  local max_attempts, retention_ms = tonumber(args[6]), tonumber(args[7])
  local delay_ms = tonumber(args[8]) or 0
  local hash = current(ns, id, receipt)
  if not hash then return 'lost' end
  local class, entry, payload, attempts = unpack(redis.call('HMGET', hash, 'class', 'entry', 'task', 'attempts'))
  local now = now_ms()
  drop_entry(ns, class, entry)
  redis.call('HSET', hash, 'error_kind', kind, 'error_message', message)
  local line = 'attempt ' .. attempts .. ' by ' .. holder(hash) .. ': ' .. kind .. ' failure at ' .. now .. ': ' .. message
  if kind == 'job' then
    remember(hash, line)
    finish(ns, id, hash, 'running', 'failed', now, retention_ms)
    forget(ns, 'failed', now, retention_ms)
    count(ns, 'failed')
    return 'failed'
  end
  if tonumber(attempts) < max_attempts then
    local started = tonumber(redis.call('HGET', hash, 'started_at'))
    remember(hash, line .. '; retry in ' .. delay_ms .. ' ms')
    redis.call('HSET', hash, 'state', 'retrying', 'duration_ms', now - started)
    redis.call('HDEL', hash, 'receipt')
    if delay_ms > 0 then
      redis.call('HSET', hash, 'entry', '', 'retry_at', now + delay_ms)
      redis.call('ZADD', ns .. ':delayed', now + delay_ms, id)
    else
      local again = redis.call('XADD', stream_of(ns, class, now), '*', 'id', id, 'task', payload)
      redis.call('HSET', hash, 'entry', again)
    end
    move(ns, id, 'running', 'retrying', now)
    count(ns, 'retried')
    return 'retrying'
  end
  remember(hash, line)
  finish(ns, id, hash, 'running', 'dead', now, retention_ms)
  forget(ns, 'dead', now, retention_ms)
  dead_letter(ns, class, entry, id, 'no attempts left: ' .. message, payload, now)
  count(ns, 'dead')
  return 'dead'
end)
-- ANCHOR_END: nack

-- ANCHOR: renew
-- renew(ns, id, receipt, consumer, lease_ms): the lease starts again now (XCLAIM resets
-- the entry's idle time). Replies the new expiry in ms, or `lost`.
register('imgq_renew', function(_, args)
  local ns, id, receipt, consumer, lease_ms = args[1], args[2], args[3], args[4], tonumber(args[5])
  local hash = current(ns, id, receipt)
  if not hash then return 'lost' end
  local class, entry = unpack(redis.call('HMGET', hash, 'class', 'entry'))
  redis.call('XCLAIM', ns .. ':stream:' .. class, GROUP, consumer, 0, entry, 'JUSTID')
  return now_ms() + lease_ms
end)
-- ANCHOR_END: renew

-- ANCHOR: release
-- release(ns, id, receipt, consumer, lease_ms): the worker gives the task back unfinished.
-- It is pending again, the attempt given back, and its entry looks long idle, so the next
-- XAUTOCLAIM of any worker takes it, ahead of the new entries that sweep would read.
register('imgq_release', function(_, args)
  local ns, id, receipt, consumer, lease_ms = args[1], args[2], args[3], args[4], tonumber(args[5])
  local hash = current(ns, id, receipt)
  if not hash then return 'lost' end
  local class, entry = unpack(redis.call('HMGET', hash, 'class', 'entry'))
  redis.call('XCLAIM', ns .. ':stream:' .. class, GROUP, consumer, 0, entry,
    'IDLE', lease_ms + 1000, 'JUSTID')
  redis.call('HINCRBY', hash, 'attempts', -1)
  redis.call('HSET', hash, 'state', 'pending')
  redis.call('HDEL', hash, 'started_at', 'receipt')
  move(ns, id, 'running', 'pending', now_ms())
  return 'ok'
end)
-- ANCHOR_END: release

-- bury(ns, class, entry, id, reason, retention_ms): an entry the worker could not decode.
register('imgq_bury', function(_, args)
  bury(args[1], args[2], args[3], args[4], args[5], now_ms(), tonumber(args[6]))
  return 'ok'
end)

-- requeue(ns, id): a person sends a dead task back, with its attempts reset.
register('imgq_requeue', function(_, args)
  local ns, id = args[1], args[2]
  local hash = ns .. ':task:' .. id
  local state, class, payload = unpack(redis.call('HMGET', hash, 'state', 'class', 'task'))
  if not state then return 'not_found' end
  if state ~= 'dead' then return state end
  local now = now_ms()
  local entry = redis.call('XADD', stream_of(ns, class, now), '*', 'id', id, 'task', payload)
  redis.call('PERSIST', hash)
  redis.call('HSET', hash, 'state', 'pending', 'attempts', 0, 'entry', entry, 'enqueued_at', now)
  redis.call('HDEL', hash, 'started_at', 'finished_at', 'duration_ms', 'error_kind', 'error_message', 'worker')
  remember(hash, 'requeued from the dead letters at ' .. now)
  move(ns, id, 'dead', 'pending', now)
  return 'ok'
end)

-- trim(ns, retention_ms): the final states' indexes forget what the task hashes forgot, by
-- Redis's clock, the one that scored them. A task trims the index of the state it enters;
-- readers call this for the others.
register('imgq_trim', function(_, args)
  local ns, retention_ms = args[1], tonumber(args[2])
  local cutoff = now_ms() - retention_ms
  for _, state in ipairs({ 'succeeded', 'failed', 'dead' }) do
    redis.call('ZREMRANGEBYSCORE', ns .. ':state:' .. state, '-inf', cutoff)
  end
  return 'ok'
end)

-- retire(ns, consumer): a worker that stopped removes its consumer from the group of
-- every stream where it holds nothing, so consumers do not pile up over restarts. One that
-- still holds entries stays: deleting it would drop them from the pending list.
register('imgq_retire', function(_, args)
  local ns, consumer = args[1], args[2]
  local removed = 0
  for _, class in ipairs(redis.call('ZRANGE', ns .. ':class-use', 0, -1)) do
    local stream = ns .. ':stream:' .. class
    if redis.call('EXISTS', stream) == 1 then
      local ok, held = pcall(redis.call, 'XPENDING', stream, GROUP, '-', '+', 1, consumer)
      if ok and #held == 0 then
        redis.call('XGROUP', 'DELCONSUMER', stream, GROUP, consumer)
        removed = removed + 1
      end
    end
  end
  return removed
end)

