#pragma once

// The Lua scripts of the Redis limiter: one per algorithm, each doing one
// operation atomically on the server. Internal to redis_limiter.cpp.
//
// KEYS[1]: the key's state (a hash; buckets: a string); KEYS[2]: the sliding window's log.
// ARGV: op ("hit", "get", "set", "inc", "refund", "expires", "reset", "give":
// gives back the node's block alone), now in
// ms ("": Redis TIME), amount (cost or value), then the block arguments
// (redis_blocks.hpp; 0 when blocks are off): want (a hit may take up to this
// many units at once, the cost included, keeping the rest as a block for the
// node's later hits), lease (ms the block stays reserved on the server), and
// the node's block given back first (its reserved units, its unused units,
// its lease end in Redis time), then the algorithm's parameters.
// "hit" returns {allowed, count, retry_after_ms, never, reserved, lease_end,
// lease_ms}: reserved units beyond the cost, held by the node until lease_end
// (Redis time, lease_ms from now). The others return one integer (buckets:
// in units, 1/unit token). While blocks are reserved, the state keeps o (units
// reserved by live blocks) and e (when the last of them ends): a window
// counts them, a token bucket refills to at most capacity - o and a leaky
// bucket drains to no less than o until e, so the server's state plus every
// node's unused block never admits more than one exact limiter would.
// Numbers are Lua doubles: every value is
// kept an integer below 2^53 (the limiter checks its parameters), so the
// arithmetic is exact. A number becomes a string only through n() ('%d',
// which Redis's Lua formats from a 64-bit long, twice as fast as '%.0f'):
// Lua's tostring, and Redis's conversion of a number passed to redis.call,
// keep 14 significant digits. Replies are integers (Redis truncates exactly).
namespace otpp::rate_limit::scripts {

inline constexpr const char* prelude = R"lua(
local op = ARGV[1]
local amount = tonumber(ARGV[3])
local want, lease = tonumber(ARGV[4]), tonumber(ARGV[5])
local held, unused, held_until = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local H = KEYS[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local function at_least(seen) -- time never goes back per key
  if seen and seen > now then now = seen end
end
local function n(x) return string.format('%d', x) end -- exact: a 64-bit C long
local function floor_div(m, d) -- exact for integers below 2^53
  local q = math.floor(m / d)
  if q * d > m then q = q - 1 elseif (q + 1) * d <= m then q = q + 1 end
  return q
end
local function ceil_div(m, d)
  local q = floor_div(m, d)
  if q * d < m then q = q + 1 end
  return q
end
local function expire_in(key, ms)
  if ms < 1 then ms = 1 end
  redis.call('PEXPIRE', key, n(ms))
end
)lua";

// ARGV[9] scale_ms, ARGV[10] limit. Hash: w window, k the scale that cut
// it (absent: this scale), c count (blocks included), s latest time seen, o
// units reserved by blocks in window w and e when they end (both absent when
// none; a block never outlives its window). After a scale change a running
// window keeps its count and its end; later windows are cut by the new scale.
inline constexpr const char* fixed_window = R"lua(
local scale, limit = tonumber(ARGV[9]), tonumber(ARGV[10])
local st = redis.call('HMGET', H, 'w', 'c', 's', 'o', 'e', 'k')
at_least(tonumber(st[3]))
local sw, k = tonumber(st[1]), tonumber(st[6]) or scale
local running = sw ~= nil and sw * k <= now and now < (sw + 1) * k
local w = sw
if not running then w, k = floor_div(now, scale), scale end
local ends = (w + 1) * k
local count, o, e = 0, 0, 0
if running then
  count = tonumber(st[2])
  e = tonumber(st[5]) or 0
  if e > now then o = tonumber(st[4]) else e = 0 end
end
if held > 0 and held_until > now and o > 0 then -- the node's live block: its unused part comes back
  o = math.max(o - held, 0)
  count = math.max(count - unused, o)
  if o == 0 then e = 0 end
end
local function store()
  if o > 0 then
    redis.call('HSET', H, 'w', n(w), 'k', n(k), 'c', n(count), 's', n(now), 'o', n(o), 'e', n(e))
  else
    redis.call('HSET', H, 'w', n(w), 'k', n(k), 'c', n(count), 's', n(now))
    if st[4] then redis.call('HDEL', H, 'o', 'e') end
  end
  expire_in(H, ends - now)
end
if op == 'get' then return count end
if op == 'give' then
  if running then store() end
  return count
end
if op == 'expires' then
  if sw then return math.max((sw + 1) * (tonumber(st[6]) or scale), now) end
  return now
end
if op == 'reset' then
  if o == 0 then redis.call('DEL', H) return 0 end
  count = o -- blocks held by other nodes stay counted until they end
  store()
  return count
end
if op == 'refund' then
  if not running then
    if st[1] then redis.call('HSET', H, 's', n(now)) end
    return 0
  end
  count = math.max(count - amount, o)
  store()
  return count
end
if op == 'set' then count = math.max(math.min(amount, 2^53), o) end
if op == 'inc' then count = math.min(count + amount, 2^53) end
if op ~= 'hit' then store() return count end
if count + amount <= limit then
  local g = math.min(math.max(want, amount), limit - count)
  local r, lease_end = g - amount, now
  count = count + g
  if r > 0 then
    lease_end = math.min(now + lease, ends)
    o, e = o + r, math.max(e, lease_end)
  end
  store()
  return {1, count - r, 0, 0, r, lease_end, lease_end - now}
end
count = math.min(count + amount, 2^53)
store()
return {0, 0, ends - now, 0, 0, 0, 0}
)lua";

// ARGV[9] scale_ms, ARGV[10] limit (no blocks). Hash: s latest time seen, b running sum of
// the last expired hit, t time of the newest hit. Log (sorted set): one member
// "running:time" per ms with hits, scored by the running sum of costs, so the
// entry that must expire for a denied cost is found in O(log n).
inline constexpr const char* sliding_window = R"lua(
local scale, limit = tonumber(ARGV[9]), tonumber(ARGV[10])
local Z = KEYS[2]
local st = redis.call('HMGET', H, 'b', 't', 's')
at_least(tonumber(st[3]))
local base, newest = tonumber(st[1]) or 0, tonumber(st[2])
local function time_of(member) return tonumber(string.match(member, ':(-?%d+)$')) end
local function last()
  local l = redis.call('ZRANGE', Z, -1, -1, 'WITHSCORES')
  if #l == 0 then return nil end
  return l
end
local function weight()
  local l = last()
  if not l then return 0 end
  return tonumber(l[2]) - base
end
local expired = false
while true do
  local first = redis.call('ZRANGE', Z, 0, 0, 'WITHSCORES')
  if #first == 0 then
    if base ~= 0 then base, expired = 0, true end -- an empty log starts its sums again
    break
  end
  if time_of(first[1]) + scale > now then break end
  base, expired = tonumber(first[2]), true
  redis.call('ZREMRANGEBYRANK', Z, 0, 0)
end
if expired then redis.call('HSET', H, 'b', n(base)) end
local function record(cost)
  newest = now
  if cost == 0 then return end
  local l = last()
  local running = base + cost
  if l then
    running = tonumber(l[2]) + cost
    if time_of(l[1]) == now then redis.call('ZREM', Z, l[1]) end
  end
  redis.call('ZADD', Z, n(running), n(running) .. ':' .. n(now))
end
local function store()
  redis.call('HSET', H, 's', n(now), 'b', n(base))
  if newest then
    redis.call('HSET', H, 't', n(newest))
    expire_in(H, newest + scale - now)
    expire_in(Z, newest + scale - now)
  else
    expire_in(H, scale)
  end
end
if op == 'get' then return weight() end
if op == 'expires' then
  if newest then return math.max(newest + scale, now) end
  return now
end
if op == 'set' then
  redis.call('DEL', Z)
  base, newest = 0, nil
  redis.call('HDEL', H, 't')
  if amount > 0 then record(math.min(amount, 2^53)) end
  store()
  return weight()
end
if op == 'refund' then -- newest first
  while amount > 0 do
    local l = redis.call('ZRANGE', Z, -2, -1, 'WITHSCORES')
    if #l == 0 then break end
    local running = tonumber(l[#l])
    local before = base
    if #l == 4 then before = tonumber(l[2]) end
    local take = math.min(amount, running - before)
    redis.call('ZREM', Z, l[#l - 1])
    if running - take > before then
      redis.call('ZADD', Z, n(running - take), n(running - take) .. ':' .. n(time_of(l[#l - 1])))
    end
    amount = amount - take
  end
  local l = last()
  if l then newest = time_of(l[1]) else newest = nil; redis.call('HDEL', H, 't') end
  store()
  return weight()
end
if op == 'inc' then
  record(math.min(amount, 2^53 - weight()))
  store()
  return weight()
end
if amount > limit then store() return {0, 0, 0, 1} end
local w = weight()
if w + amount <= limit then
  record(amount)
  store()
  return {1, w + amount, 0, 0}
end
-- The earliest instant enough weight has expired: the first entry whose
-- running sum covers what must go stops counting at its time + scale.
local e = redis.call('ZRANGEBYSCORE', Z, n(base + w + amount - limit), '+inf', 'LIMIT', 0, 1)
store()
return {0, 0, time_of(e[1]) + scale - now, 0}
)lua";

// Shared by both buckets. ARGV[9] capacity in tokens, ARGV[10] units per
// token, ARGV[11] rate in units per ms. A string (one GET and one SET per
// hit): "v l s" or, while blocks are reserved, "v l s o e": v amount in units,
// l time of the last change, s latest time seen, o units reserved by blocks
// until e.
inline constexpr const char* bucket_prelude = R"lua(
local capacity, unit, rate = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local cap = capacity * unit
local st = {}
local o, e = 0, 0
local packed = redis.call('GET', H)
if packed then
  local v, l, s, ro, re = string.match(packed, '^(%S+) (%S+) (%S+) ?(%S*) ?(%S*)$')
  st = {v, l, ro, re}
  at_least(tonumber(s))
  if ro ~= '' then o, e = tonumber(ro), tonumber(re) end
end
local function flow(elapsed, limit) -- units flowed in `elapsed` ms, at most `limit`
  if elapsed <= 0 or rate <= 0 or limit <= 0 then return 0 end
  local f = elapsed * rate
  if f >= limit then return limit end
  return f
end
local function blocks_end() -- the reserved units stop counting at e
  o, e = 0, 0
end
local function reserve(r) -- units kept for the node's later hits; returns the lease end
  local lease_end = now
  if r > 0 then
    lease_end = now + lease
    o, e = o + r, math.max(e, lease_end)
  end
  return lease_end
end
local function returned() -- true when the node's live block comes back: o is lowered
  if held > 0 and held_until > now and o > 0 then
    o = math.max(o - held * unit, 0)
    if o == 0 then e = 0 end
    return true
  end
  return false
end
local function seen_now() -- a deny still moves the key's latest time seen
  if st[2] then
    local tail = ''
    if st[3] ~= '' then tail = ' ' .. st[3] .. ' ' .. st[4] end
    redis.call('SET', H, st[1] .. ' ' .. st[2] .. ' ' .. n(now) .. tail, 'KEEPTTL')
  end
end
local function store(v, ttl) -- a rate of 0: no TTL
  local value = n(v) .. ' ' .. n(now) .. ' ' .. n(now)
  if o > 0 then value = value .. ' ' .. n(o) .. ' ' .. n(e) end
  if rate > 0 then redis.call('SET', H, value, 'PX', n(math.max(ttl, 1))) else redis.call('SET', H, value) end
end
)lua";

// Token bucket: starts full, refills at `rate`; allowed iff tokens >= cost.
// A block takes tokens; until it ends the bucket refills to capacity - o.
inline constexpr const char* token_bucket = R"lua(
local tokens = cap
if st[2] then
  local have, last = tonumber(st[1]), tonumber(st[2])
  tokens = have
  if o > 0 then
    tokens = tokens + flow(math.min(now, e) - last, cap - o - tokens)
    if now >= e then
      tokens = tokens + flow(now - math.max(e, last), cap - tokens)
      blocks_end()
    end
  else
    tokens = have + flow(now - last, cap - have)
  end
  tokens = math.min(tokens, cap) -- tokens above a lowered capacity (o: reserved, may come back)
end
local function at_lease_end(t) -- tokens when the blocks end (o > 0)
  return math.min(cap - o, t + (e - now) * rate)
end
local function full_in(t)
  if o > 0 then return e - now + ceil_div(cap - at_lease_end(t), rate) end
  return ceil_div(cap - t, rate)
end
if op == 'get' then return tokens end
if op == 'expires' then
  if not st[2] then return now end
  if rate <= 0 then return now end
  if o > 0 then return now + full_in(tokens) end
  local have = tonumber(st[1])
  if have >= cap then return now end
  return math.max(tonumber(st[2]) + math.max(1, ceil_div(cap - have, rate)), now)
end
local function keep(t)
  if rate > 0 then store(t, full_in(t)) else store(t, 0) end
  return t
end
local room = math.max(cap - o, 0)
if returned() then
  room = math.max(cap - o, 0)
  tokens = math.min(tokens + unused * unit, room)
end
if op == 'give' then
  if st[2] then keep(tokens) end
  return tokens
end
if op == 'reset' then
  if o == 0 then redis.call('DEL', H) return cap end
  return keep(room)
end
if op == 'set' then return keep(math.min(room, amount * unit)) end
if op == 'inc' or op == 'refund' then return keep(math.min(room, tokens + amount * unit)) end
local changed = held > 0
if amount > capacity then
  if changed then keep(tokens) else seen_now() end
  return {0, 0, 0, 1, 0, 0, 0}
end
local need = amount * unit
if tokens >= need then
  local g = math.min(math.max(want, amount), floor_div(tokens, unit))
  local r = (g - amount) * unit
  local lease_end = reserve(r)
  keep(tokens - g * unit)
  return {1, floor_div(tokens - need, unit), 0, 0, g - amount, lease_end, lease_end - now}
end
if changed then keep(tokens) else seen_now() end
if rate <= 0 then
  if o > 0 and need <= cap then return {0, 0, e - now, 0, 0, 0, 0} end
  return {0, 0, 0, 1, 0, 0, 0}
end
if o > 0 and need > at_lease_end(tokens) then -- only once the blocks end
  return {0, 0, e - now + ceil_div(need - at_lease_end(tokens), rate), 0, 0, 0, 0}
end
return {0, 0, math.max(1, ceil_div(need - tokens, rate)), 0, 0, 0, 0}
)lua";

// Leaky bucket: starts empty, drains at `rate`; allowed iff level + cost <= capacity.
// A block fills the bucket; until it ends the bucket drains to no less than o.
inline constexpr const char* leaky_bucket = R"lua(
local level = 0
if st[2] then
  local had, last = tonumber(st[1]), tonumber(st[2])
  level = had
  if o > 0 then
    level = level - flow(math.min(now, e) - last, level - o)
    if now >= e then
      level = level - flow(now - math.max(e, last), level)
      blocks_end()
    end
  else
    level = had - flow(now - last, had)
  end
  level = math.min(level, cap) -- a level above a lowered capacity reads as full
end
local function at_lease_end(v) -- the level when the blocks end (o > 0)
  return math.max(o, v - (e - now) * rate)
end
local function empty_in(v)
  if o > 0 then return e - now + ceil_div(at_lease_end(v), rate) end
  return ceil_div(v, rate)
end
if op == 'get' then return level end
if op == 'expires' then
  if not st[2] then return now end
  if rate <= 0 then return now end
  if o > 0 then return now + empty_in(level) end
  local had = tonumber(st[1])
  if had <= 0 then return now end
  return math.max(tonumber(st[2]) + math.max(1, ceil_div(had, rate)), now)
end
local function keep(v)
  if rate > 0 then store(v, empty_in(v)) else store(v, 0) end
  return v
end
if returned() then level = math.max(level - unused * unit, o) end
if op == 'give' then
  if st[2] then keep(level) end
  return level
end
if op == 'reset' then
  if o == 0 then redis.call('DEL', H) return 0 end
  return keep(o)
end
if op == 'set' then return keep(math.max(o, math.min(cap, amount * unit))) end
if op == 'inc' then return keep(math.min(cap, level + amount * unit)) end
if op == 'refund' then return keep(math.max(o, level - amount * unit)) end
local changed = held > 0
if amount > capacity then
  if changed then keep(level) else seen_now() end
  return {0, 0, 0, 1, 0, 0, 0}
end
local add = amount * unit
if level + add <= cap then
  local g = math.min(math.max(want, amount), floor_div(cap - level, unit))
  local r = (g - amount) * unit
  local lease_end = reserve(r)
  keep(level + g * unit)
  return {1, ceil_div(level + add, unit), 0, 0, g - amount, lease_end, lease_end - now}
end
if changed then keep(level) else seen_now() end
if rate <= 0 then
  if o > 0 and add <= cap then return {0, 0, e - now, 0, 0, 0, 0} end
  return {0, 0, 0, 1, 0, 0, 0}
end
local drain = level + add - cap
if o > 0 and drain > level - at_lease_end(level) then -- only once the blocks end
  return {0, 0, e - now + ceil_div(drain - (level - at_lease_end(level)), rate), 0, 0, 0, 0}
end
return {0, 0, math.max(1, ceil_div(drain, rate)), 0, 0, 0, 0}
)lua";

} // namespace otpp::rate_limit::scripts
