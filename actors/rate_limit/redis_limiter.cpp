// The Redis backend of `limiter` (limiter::on_redis).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/perf/registry.hpp"
#include "otpp/actors/rate_limit/block_book.hpp"
#include "otpp/actors/rate_limit/limiter.hpp"
#include "otpp/actors/rate_limit/redis_keys.hpp"
#include "otpp/actors/rate_limit/redis_scripts.hpp"
#include "otpp/actors/redis/client.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::rate_limit {

namespace {

using steady = std::chrono::steady_clock;

constexpr uint64_t exact_limit = uint64_t{1} << 53; // Lua numbers are doubles

caf::error unexpected_reply(const char* what) {
  return redis::make_error(redis::redis_errc::server_error, std::string{"unexpected reply to "} + what);
}

// Units per token for a bucket of `capacity` tokens: a billion, fewer when
// capacity x units would pass 2^53.
long long units_per_token(uint64_t capacity) {
  long long unit = 1'000'000'000;
  while (unit > 1 && capacity > exact_limit / static_cast<uint64_t>(unit))
    unit /= 10;
  return unit;
}

// The bucket rate per second as Redis keeps it (in whole units per ms).
double redis_rate(const limiter_config& c) {
  auto unit = static_cast<double>(units_per_token(static_cast<uint64_t>(c.capacity)));
  return static_cast<double>(std::llround(c.rate_per_s * unit / 1000.0)) * 1000.0 / unit;
}

// The script, its parameters and the kind of stored state of `c` (buckets
// keep amounts in units of 1/unit token).
struct script_setup {
  std::string script = scripts::prelude;
  std::shared_ptr<const std::vector<std::string>> parameters;
  std::string kind;
  long long unit = 1;
};

script_setup setup_for(const limiter_config& c) {
  script_setup x;
  x.kind = to_string(c.algorithm);
  switch (c.algorithm) {
    case algorithm::fixed_window:
    case algorithm::sliding_window:
      x.script += c.algorithm == algorithm::fixed_window ? scripts::fixed_window : scripts::sliding_window;
      x.parameters = std::make_shared<const std::vector<std::string>>(
        std::vector<std::string>{std::to_string(c.scale_ms), std::to_string(c.limit)});
      break;
    case algorithm::token_bucket:
    case algorithm::leaky_bucket: {
      auto capacity = static_cast<uint64_t>(c.capacity);
      x.unit = units_per_token(capacity);
      auto rate = std::llround(c.rate_per_s * static_cast<double>(x.unit) / 1000.0);
      x.kind += ":u" + std::to_string(x.unit);
      x.script += scripts::bucket_prelude;
      x.script += c.algorithm == algorithm::token_bucket ? scripts::token_bucket : scripts::leaky_bucket;
      x.parameters = std::make_shared<const std::vector<std::string>>(
        std::vector<std::string>{std::to_string(capacity), std::to_string(x.unit), std::to_string(rate)});
      break;
    }
  }
  return x;
}

// An `invalid_argument` error for a limiter Redis cannot keep exactly, or none.
caf::error redis_bounds(const limiter_config& config) {
  auto invalid = [&](const std::string& what) {
    return make_error(limit_errc::invalid_argument, "limiter '" + config.name + "': " + what);
  };
  if (static_cast<uint64_t>(config.limit) >= exact_limit || static_cast<uint64_t>(config.capacity) >= exact_limit)
    return invalid("limit and capacity must be < 2^53 (9007199254740992) with the Redis backend");
  if (auto kept = redis_rate(config); config.rate_per_s > 0
                                      && std::abs(kept - config.rate_per_s) > 1e-6 * config.rate_per_s)
    return invalid("a rate of " + std::to_string(config.rate_per_s) + " per second with a capacity of "
                   + std::to_string(config.capacity) + " would be kept as " + std::to_string(kept)
                   + " on Redis; lower the capacity below 9007199 or round the rate");
  return {};
}

// The block arguments of one script call (redis_scripts.hpp).
struct block_args {
  uint64_t want = 0;
  millis lease_ms = 0;
  block_book::lease back;
};

class redis_limiter final : public limiter {
public:
  redis_limiter(limiter_config config, redis_options options, script_setup setup, redis::client_options client,
                clock now)
    : limiter(std::move(config)),
      options_(std::move(options)),
      setup_(std::move(setup)),
      keys_(options_.prefix, this->config().name, setup_.kind),
      client_(std::move(client)),
      now_(std::move(now)) {
    if (options_.block > 0 && this->config().algorithm != algorithm::sliding_window) {
      blocks_ = std::make_unique<block_book>(static_cast<uint64_t>(options_.block), options_.block_lease.count(),
                                             this->config().algorithm == algorithm::token_bucket);
      returner_ = std::thread{[this] { give_back_due(); }};
    }
  }

  ~redis_limiter() override {
    if (!blocks_)
      return;
    {
      std::lock_guard<std::mutex> guard{returner_mutex_};
      stopping_ = true;
    }
    returner_wake_.notify_one();
    returner_.join();
    give_back(blocks_->release_all());
  }

  caf::expected<decision> hit(const std::string& key, int64_t cost) override {
    if (cost < 0)
      return make_error(limit_errc::invalid_argument, "cost must be >= 0, got " + std::to_string(cost));
    auto units = static_cast<uint64_t>(cost);
    if (!blocks_)
      return answer(run("hit", key, units, {units, 0, {}}));
    auto now = local_now();
    if (auto count = blocks_->take(key, units, now))
      return counted(decision::allow(*count));
    auto ask = blocks_->asking(key, units, [this] { return local_now(); }, steady::now() + options_.timeout);
    if (ask.admitted)
      return counted(decision::allow(*ask.admitted));
    now = local_now();
    if (blocks_->size() == 1) { // the returner may be waiting for a first key
      { std::lock_guard<std::mutex> guard{returner_mutex_}; }
      returner_wake_.notify_one();
    }
    auto lease = options_.block_lease.count();
    auto r = run("hit", key, units, {ask.want, 2 * lease, ask.back}, now);
    if (!ask.reserving)
      return answer(std::move(r));
    uint64_t reserved = 0;
    millis until = 0, lease_ms = 0;
    if (r && (*r)->type == REDIS_REPLY_ARRAY && (*r)->elements == 7 && (*r)->element[0]->integer != 0) {
      reserved = static_cast<uint64_t>((*r)->element[4]->integer);
      until = (*r)->element[5]->integer;
      lease_ms = (*r)->element[6]->integer;
    }
    blocks_->answered(key, reserved, later(now, std::min(lease, lease_ms)), until,
                      r && reserved > 0 ? static_cast<uint64_t>((*r)->element[1]->integer) : 0);
    return answer(std::move(r));
  }

  caf::expected<double> get(const std::string& key) override { return amount("get", key, 0); }

  caf::error set(const std::string& key, uint64_t value) override {
    auto r = amount("set", key, value, released(key));
    return r ? caf::error{} : r.error();
  }

  caf::expected<double> inc(const std::string& key, uint64_t by) override {
    return amount("inc", key, by, released(key));
  }

  caf::expected<double> refund(const std::string& key, uint64_t cost) override {
    return amount("refund", key, cost, released(key));
  }

  caf::expected<millis> expires_at(const std::string& key) override {
    auto r = integer("expires", key, 0);
    if (!r)
      return r.error();
    return static_cast<millis>(*r);
  }

  caf::error reset(const std::string& key) override {
    if (config().algorithm == algorithm::sliding_window) {
      auto r = client_.call({"DEL", keys_.state(key), keys_.log(key)});
      return r ? caf::error{} : r.error();
    }
    auto r = integer("reset", key, 0, released(key));
    return r ? caf::error{} : r.error();
  }

  std::size_t sweep() override { return 0; }

  caf::expected<std::size_t> size() override {
    std::size_t n = 0;
    std::string cursor = "0";
    auto pattern = keys_.state_pattern();
    do {
      auto r = client_.call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      if (!r)
        return r.error();
      if ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements != 2)
        return unexpected_reply("SCAN");
      cursor.assign((*r)->element[0]->str, (*r)->element[0]->len);
      n += (*r)->element[1]->elements;
    } while (cursor != "0");
    return n;
  }

  uint64_t degraded_hits() const override { return degraded_hits_.load(); }

  uint64_t allowed_hits() const override { return allowed_.value(); }

  uint64_t denied_hits() const override { return denied_.value(); }

  bool degraded() const override { return degraded_.load(); }

protected:
  // The scripts take the limits at each call: later calls pass the new ones.
  caf::error apply(const limiter_config& next) override {
    if (auto err = redis_bounds(next))
      return err;
    auto setup = setup_for(next);
    if (setup.kind != setup_.kind)
      return supervision::make_error(supervision::errc::not_allowed,
                                     "limiter '" + next.name + "': a capacity of " + std::to_string(next.capacity)
                                       + " keeps its Redis keys in other units (" + setup.kind + ", not "
                                       + setup_.kind + "): restart the limiter instead");
    std::atomic_store(&setup_.parameters, setup.parameters);
    if (blocks_) // the next block is taken under the new limits
      give_back(blocks_->release_all());
    return {};
  }

private:
  decision counted(decision d) {
    (d.allowed ? allowed_ : denied_).add();
    return d;
  }

  caf::expected<decision> answer(caf::expected<redis::reply> r) {
    if (r && (*r)->type == REDIS_REPLY_ARRAY && (*r)->elements >= 4) {
      long long v[4];
      for (std::size_t i = 0; i < 4; ++i)
        v[i] = (*r)->element[i]->integer;
      healthy();
      return counted(v[3] != 0   ? decision::deny_forever()
                     : v[0] != 0 ? decision::allow(static_cast<uint64_t>(v[1]))
                                 : decision::deny(v[2]));
    }
    return counted(by_policy(r ? unexpected_reply("a hit") : r.error()));
  }

  // The local clock of blocks: the injected clock, else a steady one.
  millis local_now() const {
    if (now_)
      return now_();
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch()).count();
  }

  // This node's block of `key`, taken out of the book to be given back by the next operation.
  block_args released(const std::string& key) {
    block_args a;
    if (blocks_)
      a.back = blocks_->release(key);
    return a;
  }

  // Runs the algorithm's script for one operation on `key` (EVALSHA with an
  // empty SHA: the client's script); `now`: the injected clock's reading.
  caf::expected<redis::reply> run(const char* op, const std::string& key, uint64_t amount, const block_args& b,
                                  std::optional<millis> now = std::nullopt) {
    std::vector<std::string> args{"EVALSHA",
                                  "",
                                  "2",
                                  keys_.state(key),
                                  keys_.log(key),
                                  op,
                                  now_ ? std::to_string(now ? *now : now_()) : std::string{},
                                  std::to_string(amount),
                                  std::to_string(b.want),
                                  std::to_string(b.lease_ms),
                                  std::to_string(b.back.reserved),
                                  std::to_string(b.back.unused),
                                  std::to_string(b.back.until)};
    auto parameters = std::atomic_load(&setup_.parameters);
    args.insert(args.end(), parameters->begin(), parameters->end());
    return client_.call(std::move(args));
  }

  caf::expected<long long> integer(const char* op, const std::string& key, uint64_t amount, const block_args& b = {}) {
    auto r = run(op, key, amount, b);
    if (!r)
      return r.error();
    if ((*r)->type != REDIS_REPLY_INTEGER)
      return unexpected_reply(op);
    return (*r)->integer;
  }

  // Gives the blocks back (best effort: a block not given back ends on the server with its lease).
  void give_back(const std::vector<std::pair<std::string, block_book::lease>>& blocks) {
    for (auto& [key, lease] : blocks)
      run("give", key, 0, {0, 0, lease});
  }

  // The returner thread: every half lease while the book holds keys, gives
  // back the blocks whose use ended.
  void give_back_due() {
    auto period = std::max(options_.block_lease / 2, std::chrono::milliseconds{1});
    std::unique_lock<std::mutex> lock{returner_mutex_};
    while (!stopping_) {
      if (blocks_->size() == 0)
        returner_wake_.wait(lock, [&] { return stopping_ || blocks_->size() > 0; });
      else
        returner_wake_.wait_for(lock, period, [&] { return stopping_; });
      if (stopping_)
        return;
      lock.unlock();
      give_back(blocks_->due(local_now()));
      lock.lock();
    }
  }

  // A count, weight, number of tokens or level.
  caf::expected<double> amount(const char* op, const std::string& key, uint64_t value, const block_args& b = {}) {
    auto r = integer(op, key, value, b);
    if (!r)
      return r.error();
    auto unit = setup_.unit;
    return static_cast<double>(*r / unit) + static_cast<double>(*r % unit) / static_cast<double>(unit);
  }

  decision by_policy(const caf::error& err) {
    ++degraded_hits_;
    if (!degraded_.exchange(true))
      events::emit(events::limiter_backend_degraded{config().name, "redis", to_string(options_.on_error),
                                                    supervision::describe(err)});
    decision d;
    if (options_.on_error == failure_policy::fail_open) {
      d = decision::allow(0);
    } else {
      auto wait = client_.retry_at() - steady::now();
      d = decision::deny(std::max<millis>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) + 1);
    }
    d.degraded = true;
    return d;
  }

  void healthy() {
    if (degraded_.load(std::memory_order_relaxed) && degraded_.exchange(false))
      events::emit(events::limiter_backend_recovered{config().name, "redis"});
  }

  redis_options options_;
  script_setup setup_;
  redis_keys keys_;
  redis::client client_;
  clock now_;
  std::atomic<uint64_t> degraded_hits_{0};
  perf::counter allowed_; // striped: many threads hit one limiter at once
  perf::counter denied_;
  std::atomic<bool> degraded_{false};
  std::unique_ptr<block_book> blocks_; // null: every hit asks Redis
  std::mutex returner_mutex_;
  std::condition_variable returner_wake_;
  bool stopping_ = false;
  std::thread returner_;
};

} // namespace

caf::expected<std::shared_ptr<limiter>> limiter::on_redis(limiter_config config, redis_options options, clock now) {
  if (auto err = validate(config))
    return err;
  auto invalid = [&](const std::string& what) {
    return make_error(limit_errc::invalid_argument, "limiter '" + config.name + "': " + what);
  };
  if (auto err = redis_bounds(config))
    return err;
  if (options.timeout.count() <= 0)
    return invalid("redis timeout must be > 0 ms, got " + std::to_string(options.timeout.count()));
  if (options.connections < 1 || options.connections > 1024)
    return invalid("redis connections must be in [1, 1024], got " + std::to_string(options.connections));
  if (options.block < 0 || static_cast<uint64_t>(options.block) >= exact_limit)
    return invalid("redis block must be in [0, 2^53), got " + std::to_string(options.block));
  if (options.block_lease.count() <= 0 || options.block_lease > std::chrono::hours(1))
    return invalid("redis block_lease must be in [1 ms, 1 h], got " + std::to_string(options.block_lease.count())
                   + " ms");
  redis::client_options client;
  client.connections = options.connections;
  client.timeout = options.timeout;
  if (options.sentinels.empty()) {
    auto where = redis::parse_url(options.url);
    if (!where)
      return invalid(supervision::describe(where.error()));
    client.server = std::move(*where);
  } else {
    if (options.master_name.empty())
      return invalid("redis master_name is required with sentinels");
    for (auto& s : options.sentinels) {
      auto where = redis::parse_host_port(s);
      if (!where)
        return invalid(supervision::describe(where.error()));
      client.sentinels.push_back(std::move(*where));
    }
    client.master_name = options.master_name;
  }
  auto setup = setup_for(config);
  client.script = setup.script;
  return std::make_shared<redis_limiter>(std::move(config), std::move(options), std::move(setup), std::move(client),
                                         std::move(now));
}

} // namespace otpp::rate_limit
