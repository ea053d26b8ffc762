#include "otpp/actors/guards/protected_operation.hpp"

#include <cstdio>
#include <limits>
#include <map>
#include <memory>

#include "otpp/actors/breaker/breaker_owner.hpp"
#include "otpp/actors/memory/memory_manager.hpp"
#include "otpp/actors/perf/families.hpp"
#include "otpp/actors/rate_limit/limiter_owner.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp {

std::string to_string(guard_errc code) {
  switch (code) {
    case guard_errc::memory_pressure: return "memory_pressure";
    case guard_errc::rate_limited: return "rate_limited";
    case guard_errc::pool_timeout: return "pool_timeout";
    case guard_errc::pool_full: return "pool_full";
    case guard_errc::circuit_open: return "circuit_open";
    case guard_errc::missing: return "missing";
  }
  return "unknown_guard_errc";
}

namespace {

const bool guard_errors_named = [] {
  supervision::add_error_names(guard_errc_category,
                               [](uint8_t code) { return to_string(static_cast<guard_errc>(code)); });
  return true;
}();

caf::error refusal(guard_errc code, std::string text) {
  return supervision::make_categorized_error(guard_errc_category, static_cast<uint8_t>(code), std::move(text));
}

} // namespace

std::optional<guard_errc> refused_by(const caf::error& err) {
  if (err.category() != guard_errc_category)
    return std::nullopt;
  return static_cast<guard_errc>(err.code());
}

std::optional<memory::pressure> memory_level(const caf::error& err) {
  if (refused_by(err) != guard_errc::memory_pressure || err.context().size() != 2
      || !err.context().match_element<uint8_t>(1))
    return std::nullopt;
  return static_cast<memory::pressure>(err.context().get_as<uint8_t>(1));
}

std::optional<int64_t> retry_after_ms(const caf::error& err) {
  if (refused_by(err) != guard_errc::rate_limited || err.context().size() != 2
      || !err.context().match_element<int64_t>(1))
    return std::nullopt;
  return err.context().get_as<int64_t>(1);
}

namespace detail {

admission::~admission() {
  if (refund_ && limiter)
    limiter->refund(key, static_cast<uint64_t>(cost));
  if (breaker && permit)
    breaker->on_ignored(*permit);
}

const caf::actor& admission::worker() const {
  static const caf::actor none;
  return lease ? lease->worker() : borrowed ? borrowed : none;
}

void admission::finish(const caf::error* failure, const protection& p, std::chrono::nanoseconds took) {
  if (borrowed) {
    pool.checkin(borrowed);
    borrowed = nullptr;
  }
  bool ignored = failure && p.ignore && p.ignore(*failure);
  if (breaker && permit) {
    if (!failure)
      breaker->on_success(*permit, took);
    else if (ignored)
      breaker->on_ignored(*permit);
    else
      breaker->on_error(*permit, took);
    permit.reset();
  }
  if (lease)
    lease->release();
  latency->record(took.count());
  (failure && !ignored ? failed : ok)->add();
}

namespace {

// The metrics of one protected service, looked up once per thread (which
// keeps them while it runs).
struct service_metrics {
  std::string ns;
  std::string service;
  std::shared_ptr<perf::histogram> latency;
  std::shared_ptr<perf::counter> ok;
  std::shared_ptr<perf::counter> failed;
  std::map<guard_errc, std::shared_ptr<perf::counter>> refusals;
};

service_metrics& metrics_of(const protection& p) {
  thread_local std::vector<std::unique_ptr<service_metrics>> seen;
  for (auto& m : seen)
    if (m->ns == p.ns && m->service == p.service)
      return *m;
  auto& registry = perf::metrics();
  using perf::families::protected_results;
  seen.push_back(std::make_unique<service_metrics>(service_metrics{
    p.ns, p.service, registry.histogram_of(perf::families::protected_seconds, {p.ns, p.service}),
    registry.counter_of(protected_results, {p.ns, p.service, "ok"}),
    registry.counter_of(protected_results, {p.ns, p.service, "failed"}), {}}));
  return *seen.back();
}

void count_refusal(const protection& p, guard_errc code) {
  auto& m = metrics_of(p);
  auto& c = m.refusals[code];
  if (!c)
    c = perf::metrics().counter_of(perf::families::protected_results, {p.ns, p.service, to_string(code)});
  c->add();
}

caf::error refused(const protection& p, guard_errc code, std::string text) {
  count_refusal(p, code);
  return refusal(code, std::move(text));
}

} // namespace

caf::expected<admission> admit_until_pool(caf::actor_system& sys, const protection& p) {
  auto& metrics = metrics_of(p);
  admission a;
  a.latency = metrics.latency.get();
  a.ok = metrics.ok.get();
  a.failed = metrics.failed.get();
  if (auto m = memory::find_memory_manager(sys)) {
    if ((*m)->check()) {
      count_refusal(p, guard_errc::memory_pressure);
      auto level = (*m)->level();
      char usage[32];
      std::snprintf(usage, sizeof usage, "%.1f", (*m)->usage_percent());
      return caf::error{static_cast<uint8_t>(guard_errc::memory_pressure), guard_errc_category,
                        caf::make_message("level " + memory::to_string(level) + " (" + usage + " % of "
                                            + std::to_string((*m)->limit_bytes() / (1024 * 1024)) + " MiB)",
                                          static_cast<uint8_t>(level))};
    }
  }
  if (!p.limiter.empty()) {
    auto l = rate_limit::find_limiter(sys, p.limiter);
    if (!l)
      return refused(p, guard_errc::missing, "limiter '" + p.limiter + "' is not running");
    auto d = (*l)->hit(p.key, p.cost);
    if (!d)
      return d.error(); // a negative cost
    if (!d->allowed) {
      count_refusal(p, guard_errc::rate_limited);
      auto retry = d->never ? std::numeric_limits<int64_t>::max() : d->retry_after_ms;
      return caf::error{static_cast<uint8_t>(guard_errc::rate_limited), guard_errc_category,
                        caf::make_message("limiter '" + p.limiter + "', key '" + p.key + "': "
                                            + (d->never ? std::string{"the cost never fits"}
                                                        : "retry after " + std::to_string(retry) + " ms"),
                                          retry)};
    }
    a.limiter = *l;
    a.key = p.key;
    a.cost = p.cost;
    a.refund_ = true; // until the operation runs
  }
  return a;
}

caf::error admit_breaker(caf::actor_system& sys, const protection& p, admission& a) {
  if (p.breaker.empty())
    return {};
  auto b = breaker::find_breaker(sys, p.breaker);
  if (!b)
    return refused(p, guard_errc::missing, "breaker '" + p.breaker + "' is not running");
  auto permit = (*b)->try_acquire();
  if (!permit)
    return refused(p, guard_errc::circuit_open,
                   "service '" + p.service + "' (breaker '" + p.breaker + "' is " + to_string((*b)->state()) + ")");
  a.breaker = *b;
  a.permit = permit;
  return {};
}

caf::error pool_refusal(const protection& p, const caf::error& checkout_error) {
  auto full = checkout_error.category() == pool::pool_errc_category
              && checkout_error.code() == static_cast<uint8_t>(pool::pool_errc::full);
  return refused(p, full ? guard_errc::pool_full : guard_errc::pool_timeout,
                 "pool '" + p.pool + "': " + supervision::describe(checkout_error));
}

caf::error missing_pool(const protection& p) {
  return refused(p, guard_errc::missing, "pool '" + p.pool + "' is not running");
}

caf::expected<admission> admit(caf::actor_system& sys, const protection& p) {
  auto a = admit_until_pool(sys, p);
  if (!a)
    return a;
  if (!p.pool.empty()) {
    auto pool = pool::find_pool(sys, p.pool);
    if (!pool)
      return missing_pool(p);
    auto held = pool->checkout(p.block, p.checkout_timeout);
    if (!held)
      return pool_refusal(p, held.error());
    a->lease.emplace(std::move(*held));
  }
  if (auto err = admit_breaker(sys, p, *a))
    return err;
  return a;
}

} // namespace detail

} // namespace otpp
