// The Redis backend of `limiter` (limiter::on_redis).
#include <atomic>
#include <cmath>
#include <vector>

#include <hiredis/hiredis.h>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/perf/registry.hpp"
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
  std::vector<std::string> parameters;
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
      x.parameters = {std::to_string(c.scale_ms), std::to_string(c.limit)};
      break;
    case algorithm::token_bucket:
    case algorithm::leaky_bucket: {
      auto capacity = static_cast<uint64_t>(c.capacity);
      x.unit = units_per_token(capacity);
      auto rate = std::llround(c.rate_per_s * static_cast<double>(x.unit) / 1000.0);
      x.kind += ":u" + std::to_string(x.unit);
      x.script += scripts::bucket_prelude;
      x.script += c.algorithm == algorithm::token_bucket ? scripts::token_bucket : scripts::leaky_bucket;
      x.parameters = {std::to_string(capacity), std::to_string(x.unit), std::to_string(rate)};
      break;
    }
  }
  return x;
}

class redis_limiter final : public limiter {
public:
  redis_limiter(limiter_config config, redis_options options, script_setup setup, redis::client_options client,
                clock now)
    : limiter(std::move(config)),
      options_(std::move(options)),
      setup_(std::move(setup)),
      keys_(options_.prefix, this->config().name, setup_.kind),
      client_(std::move(client)),
      now_(std::move(now)) {}

  caf::expected<decision> hit(const std::string& key, int64_t cost) override {
    if (cost < 0)
      return make_error(limit_errc::invalid_argument, "cost must be >= 0, got " + std::to_string(cost));
    auto r = run("hit", key, static_cast<uint64_t>(cost));
    if (r && (*r)->type == REDIS_REPLY_ARRAY && (*r)->elements == 4) {
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

  caf::expected<double> get(const std::string& key) override { return amount("get", key, 0); }

  caf::error set(const std::string& key, uint64_t value) override {
    auto r = amount("set", key, value);
    return r ? caf::error{} : r.error();
  }

  caf::expected<double> inc(const std::string& key, uint64_t by) override { return amount("inc", key, by); }

  caf::expected<double> refund(const std::string& key, uint64_t cost) override { return amount("refund", key, cost); }

  caf::expected<millis> expires_at(const std::string& key) override {
    auto r = integer("expires", key, 0);
    if (!r)
      return r.error();
    return static_cast<millis>(*r);
  }

  caf::error reset(const std::string& key) override {
    auto r = client_.call({"DEL", keys_.state(key), keys_.log(key)});
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

private:
  decision counted(decision d) {
    (d.allowed ? allowed_ : denied_).add();
    return d;
  }

  // Runs the algorithm's script for one operation on `key` (EVALSHA with an
  // empty SHA: the client's script).
  caf::expected<redis::reply> run(const char* op, const std::string& key, uint64_t amount) {
    std::vector<std::string> args{"EVALSHA", "", "2", keys_.state(key), keys_.log(key), op,
                                  now_ ? std::to_string(now_()) : std::string{}, std::to_string(amount)};
    args.insert(args.end(), setup_.parameters.begin(), setup_.parameters.end());
    return client_.call(std::move(args));
  }

  caf::expected<long long> integer(const char* op, const std::string& key, uint64_t amount) {
    auto r = run(op, key, amount);
    if (!r)
      return r.error();
    if ((*r)->type != REDIS_REPLY_INTEGER)
      return unexpected_reply(op);
    return (*r)->integer;
  }

  // A count, weight, number of tokens or level.
  caf::expected<double> amount(const char* op, const std::string& key, uint64_t value) {
    auto r = integer(op, key, value);
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
};

} // namespace

caf::expected<std::shared_ptr<limiter>> limiter::on_redis(limiter_config config, redis_options options, clock now) {
  if (auto err = validate(config))
    return err;
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
  if (options.timeout.count() <= 0)
    return invalid("redis timeout must be > 0 ms, got " + std::to_string(options.timeout.count()));
  if (options.connections < 1 || options.connections > 1024)
    return invalid("redis connections must be in [1, 1024], got " + std::to_string(options.connections));
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
