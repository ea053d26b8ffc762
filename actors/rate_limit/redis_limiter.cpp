// The Redis backend of `limiter` (limiter::on_redis).
#include <atomic>
#include <cmath>
#include <mutex>
#include <vector>

#include <hiredis/hiredis.h>

#include "actors/rate_limit/limiter.hpp"
#include "actors/rate_limit/redis_scripts.hpp"
#include "actors/redis/connection.hpp"
#include "supervision/errors.hpp"
#include "supervision/reports.hpp"

namespace otpp::rate_limit {

namespace {

using steady = std::chrono::steady_clock;

constexpr uint64_t exact_limit = uint64_t{1} << 53; // Lua numbers are doubles

// The glob pattern that matches `text` literally.
std::string glob_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

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

class redis_limiter final : public limiter {
public:
  redis_limiter(limiter_config config, redis_options options, redis::endpoint where, clock now)
    : limiter(std::move(config)), options_(std::move(options)), where_(std::move(where)), now_(std::move(now)) {
    auto& c = this->config();
    auto& p = options_.prefix;
    // Lengths first, so that no prefix, name and key split the same bytes twice.
    key_base_ = std::to_string(p.size()) + ":" + p + ":" + std::to_string(c.name.size()) + ":" + c.name + ":"
                + to_string(c.algorithm) + ":";
    script_ = scripts::prelude;
    switch (c.algorithm) {
      case algorithm::fixed_window:
      case algorithm::sliding_window:
        script_ += c.algorithm == algorithm::fixed_window ? scripts::fixed_window : scripts::sliding_window;
        parameters_ = {std::to_string(c.scale_ms), std::to_string(c.limit)};
        break;
      case algorithm::token_bucket:
      case algorithm::leaky_bucket: {
        auto capacity = static_cast<uint64_t>(c.capacity);
        unit_ = units_per_token(capacity);
        auto rate = std::llround(c.rate_per_s * static_cast<double>(unit_) / 1000.0);
        key_base_ += "u" + std::to_string(unit_) + ":"; // amounts are kept in these units
        script_ += scripts::bucket_prelude;
        script_ += c.algorithm == algorithm::token_bucket ? scripts::token_bucket : scripts::leaky_bucket;
        parameters_ = {std::to_string(capacity), std::to_string(unit_), std::to_string(rate)};
        break;
      }
    }
  }

  caf::expected<decision> hit(const std::string& key, int64_t cost) override {
    if (cost < 0)
      return make_error(limit_errc::invalid_argument, "cost must be >= 0, got " + std::to_string(cost));
    auto r = run("hit", key, static_cast<uint64_t>(cost));
    if (r && (*r)->type == REDIS_REPLY_ARRAY && (*r)->elements == 4) {
      long long v[4];
      for (std::size_t i = 0; i < 4; ++i)
        v[i] = (*r)->element[i]->integer;
      healthy();
      if (v[3] != 0)
        return decision::deny_forever();
      return v[0] != 0 ? decision::allow(static_cast<uint64_t>(v[1])) : decision::deny(v[2]);
    }
    return by_policy(r ? unexpected_reply("a hit") : r.error());
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
    auto r = call({"DEL", state_key(key), log_key(key)});
    return r ? caf::error{} : r.error();
  }

  std::size_t sweep() override { return 0; }

  caf::expected<std::size_t> size() override {
    std::size_t n = 0;
    std::string cursor = "0";
    auto pattern = glob_escape(key_base_ + "h:") + "*";
    do {
      auto r = call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
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

  bool degraded() const override { return degraded_.load(); }

private:
  struct link {
    std::unique_ptr<redis::connection> connection;
    std::string sha; // of the script loaded on this connection
    bool reused = false;
  };

  std::string state_key(const std::string& key) const { return key_base_ + "h:" + key; }
  std::string log_key(const std::string& key) const { return key_base_ + "z:" + key; }

  // Runs the algorithm's script for one operation on `key`.
  caf::expected<redis::reply> run(const char* op, const std::string& key, uint64_t amount) {
    std::vector<std::string> args{"EVALSHA", "", "2", state_key(key), log_key(key), op,
                                  now_ ? std::to_string(now_()) : std::string{}, std::to_string(amount)};
    args.insert(args.end(), parameters_.begin(), parameters_.end());
    return call(std::move(args));
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
    return static_cast<double>(*r / unit_) + static_cast<double>(*r % unit_) / static_cast<double>(unit_);
  }

  // Sends `args` within the timeout (an empty second argument of EVALSHA is
  // the script's SHA on the connection used). After a connection failure, no
  // attempt is made until one timeout later, so hits answer at once while
  // Redis is down; a connection that broke while idle (a restarted server) is
  // replaced once within the same hit.
  caf::expected<redis::reply> call(std::vector<std::string> args) {
    auto start = steady::now();
    if (start < steady::time_point{steady::duration{retry_at_.load()}})
      return redis::make_error(redis::redis_errc::unavailable, "Redis unreachable at " + where_.host + ":"
                                                                 + std::to_string(where_.port) + " (recently failed)");
    auto deadline = start + options_.timeout;
    for (;;) {
      auto l = take(deadline);
      if (!l)
        return unreachable(l.error());
      bool evaluating = args[0] == "EVALSHA";
      if (evaluating)
        args[1] = l->sha;
      auto r = l->connection->command(args);
      if (!r && evaluating && !l->connection->broken()
          && supervision::describe(r.error()).find("NOSCRIPT") != std::string::npos) { // after SCRIPT FLUSH
        l->connection->set_timeout(left_until(deadline));
        if (auto err = load_script(*l))
          return unreachable(err);
        args[1] = l->sha;
        r = l->connection->command(args);
      }
      if (!l->connection->broken()) {
        give_back(std::move(*l));
        return r;
      }
      // Every idle connection is probably as stale as this one.
      std::lock_guard<std::mutex> guard{mutex_};
      idle_.clear();
      if (!l->reused || steady::now() >= deadline)
        return unreachable(r.error());
    }
  }

  caf::expected<link> take(steady::time_point deadline) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (!idle_.empty()) {
        auto l = std::move(idle_.back());
        idle_.pop_back();
        l.reused = true;
        return l;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (left.count() < 1)
      return redis::make_error(redis::redis_errc::unavailable, "Redis timeout while connecting");
    auto c = redis::connection::open(where_, left);
    if (!c)
      return c.error();
    link l{std::move(*c), {}, false};
    l.connection->set_timeout(left_until(deadline));
    if (auto err = load_script(l))
      return err;
    l.connection->set_timeout(left_until(deadline));
    return l;
  }

  caf::error load_script(link& l) {
    auto r = l.connection->command({"SCRIPT", "LOAD", script_});
    if (!r)
      return r.error();
    if ((*r)->type != REDIS_REPLY_STRING)
      return unexpected_reply("SCRIPT LOAD");
    l.sha.assign((*r)->str, (*r)->len);
    return {};
  }

  static std::chrono::milliseconds left_until(steady::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
  }

  void give_back(link l) {
    l.connection->set_timeout(options_.timeout);
    std::lock_guard<std::mutex> guard{mutex_};
    idle_.push_back(std::move(l));
  }

  caf::error unreachable(caf::error err) {
    retry_at_ = (steady::now() + options_.timeout).time_since_epoch().count();
    return err;
  }

  decision by_policy(const caf::error& err) {
    ++degraded_hits_;
    if (!degraded_.exchange(true))
      supervision::report_logger()->warn("limiter_backend_degraded limiter={} backend=redis policy={} reason={}",
                                         config().name, to_string(options_.on_error),
                                         supervision::json_quote(supervision::describe(err)));
    decision d;
    if (options_.on_error == failure_policy::fail_open) {
      d = decision::allow(0);
    } else {
      auto wait = steady::time_point{steady::duration{retry_at_.load()}} - steady::now();
      d = decision::deny(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1);
    }
    d.degraded = true;
    return d;
  }

  void healthy() {
    if (degraded_.load(std::memory_order_relaxed) && degraded_.exchange(false))
      supervision::report_logger()->info("limiter_backend_recovered limiter={} backend=redis", config().name);
  }

  redis_options options_;
  redis::endpoint where_;
  clock now_;
  std::string key_base_;
  std::string script_;
  std::vector<std::string> parameters_;
  long long unit_ = 1; // units per token (buckets: at most a billion)
  std::mutex mutex_;
  std::vector<link> idle_;
  std::atomic<steady::rep> retry_at_{0};
  std::atomic<uint64_t> degraded_hits_{0};
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
  auto where = redis::parse_url(options.url);
  if (!where)
    return invalid(supervision::describe(where.error()));
  return std::make_shared<redis_limiter>(std::move(config), std::move(options), std::move(*where), std::move(now));
}

} // namespace otpp::rate_limit
