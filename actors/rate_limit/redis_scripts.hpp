#pragma once

// The Lua scripts of the Redis limiter: one per algorithm, each doing one
// operation atomically on the server. Internal to redis_limiter.cpp.
//
// KEYS[1]: the key's state (a hash; buckets: a string); KEYS[2]: the sliding window's log.
// ARGV: op ("hit", "get", "set", "inc", "refund", "expires"), now in ms ("": Redis
// TIME), amount (cost or value), then the algorithm's parameters.
// "hit" returns {allowed, count, retry_after_ms, never}; the others one integer
// (buckets: in units, 1/unit token). Numbers are Lua doubles: every value is
// kept an integer below 2^53 (the limiter checks its parameters), so the
// arithmetic is exact. A number becomes a string only through n() ('%d',
// which Redis's Lua formats from a 64-bit long, twice as fast as '%.0f'):
// Lua's tostring, and Redis's conversion of a number passed to redis.call,
// keep 14 significant digits. Replies are integers (Redis truncates exactly).
namespace otpp::rate_limit::scripts {

inline constexpr const char* prelude = R"lua(
local op = ARGV[1]
local amount = tonumber(ARGV[3])
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

// ARGV[4] scale_ms, ARGV[5] limit. Hash: w window, c count, s latest time seen.
inline constexpr const char* fixed_window = R"lua(
local scale, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local st = redis.call('HMGET', H, 'w', 'c', 's')
at_least(tonumber(st[3]))
local w = floor_div(now, scale)
local count = 0
if tonumber(st[1]) == w then count = tonumber(st[2]) end
if op == 'get' then return count end
if op == 'expires' then
  if st[1] then return math.max((tonumber(st[1]) + 1) * scale, now) end
  return now
end
if op == 'refund' then
  if tonumber(st[1]) ~= w then
    if st[1] then redis.call('HSET', H, 's', n(now)) end
    return 0
  end
  count = math.max(count - amount, 0)
  redis.call('HSET', H, 'c', n(count), 's', n(now))
  return count
end
if op == 'set' then count = math.min(amount, 2^53) else count = math.min(count + amount, 2^53) end
local ends = (w + 1) * scale
redis.call('HSET', H, 'w', n(w), 'c', n(count), 's', n(now))
expire_in(H, ends - now)
if op ~= 'hit' then return count end
if count <= limit then return {1, count, 0, 0} end
return {0, 0, ends - now, 0}
)lua";

// ARGV[4] scale_ms, ARGV[5] limit. Hash: s latest time seen, b running sum of
// the last expired hit, t time of the newest hit. Log (sorted set): one member
// "running:time" per ms with hits, scored by the running sum of costs, so the
// entry that must expire for a denied cost is found in O(log n).
inline constexpr const char* sliding_window = R"lua(
local scale, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
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

// Shared by both buckets. ARGV[4] capacity in tokens, ARGV[5] units per
// token, ARGV[6] rate in units per ms. A string (one GET and one SET per
// hit): "v l s", v amount in units, l time of the last change, s latest
// time seen.
inline constexpr const char* bucket_prelude = R"lua(
local capacity, unit, rate = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cap = capacity * unit
local st = {}
local packed = redis.call('GET', H)
if packed then
  local v, l, s = string.match(packed, '^(%S+) (%S+) (%S+)$')
  st = {v, l}
  at_least(tonumber(s))
end
local function flow(elapsed, limit) -- units flowed in `elapsed` ms, at most `limit`
  if elapsed <= 0 or rate <= 0 then return 0 end
  local f = elapsed * rate
  if f >= limit then return limit end
  return f
end
local function seen_now() -- a deny still moves the key's latest time seen
  if st[2] then redis.call('SET', H, st[1] .. ' ' .. st[2] .. ' ' .. n(now), 'KEEPTTL') end
end
local function store(v, full_in) -- a rate of 0: no TTL
  local value = n(v) .. ' ' .. n(now) .. ' ' .. n(now)
  if rate > 0 then redis.call('SET', H, value, 'PX', n(math.max(full_in, 1))) else redis.call('SET', H, value) end
end
)lua";

// Token bucket: starts full, refills at `rate`; allowed iff tokens >= cost.
inline constexpr const char* token_bucket = R"lua(
local tokens = cap
if st[2] then
  local have = tonumber(st[1])
  tokens = have + flow(now - tonumber(st[2]), cap - have)
end
if op == 'get' then return tokens end
if op == 'expires' then
  if not st[2] then return now end
  local have = tonumber(st[1])
  if have >= cap or rate <= 0 then return now end
  return math.max(tonumber(st[2]) + math.max(1, ceil_div(cap - have, rate)), now)
end
local function keep(t)
  if rate > 0 then store(t, ceil_div(cap - t, rate)) else store(t, 0) end
  return t
end
if op == 'set' then return keep(math.min(cap, amount * unit)) end
if op == 'inc' or op == 'refund' then return keep(math.min(cap, tokens + amount * unit)) end
if amount > capacity then seen_now() return {0, 0, 0, 1} end
local need = amount * unit
if tokens >= need then
  keep(tokens - need)
  return {1, floor_div(tokens - need, unit), 0, 0}
end
seen_now()
if rate <= 0 then return {0, 0, 0, 1} end
return {0, 0, math.max(1, ceil_div(need - tokens, rate)), 0}
)lua";

// Leaky bucket: starts empty, drains at `rate`; allowed iff level + cost <= capacity.
inline constexpr const char* leaky_bucket = R"lua(
local level = 0
if st[2] then
  local had = tonumber(st[1])
  level = had - flow(now - tonumber(st[2]), had)
end
if op == 'get' then return level end
if op == 'expires' then
  if not st[2] then return now end
  local had = tonumber(st[1])
  if had <= 0 or rate <= 0 then return now end
  return math.max(tonumber(st[2]) + math.max(1, ceil_div(had, rate)), now)
end
local function keep(v)
  if rate > 0 then store(v, ceil_div(v, rate)) else store(v, 0) end
  return v
end
if op == 'set' then return keep(math.min(cap, amount * unit)) end
if op == 'inc' then return keep(math.min(cap, level + amount * unit)) end
if op == 'refund' then return keep(math.max(0, level - amount * unit)) end
if amount > capacity then seen_now() return {0, 0, 0, 1} end
local add = amount * unit
if level + add <= cap then
  keep(level + add)
  return {1, ceil_div(level + add, unit), 0, 0}
end
seen_now()
if rate <= 0 then return {0, 0, 0, 1} end
return {0, 0, math.max(1, ceil_div(level + add - cap, rate)), 0}
)lua";

} // namespace otpp::rate_limit::scripts
