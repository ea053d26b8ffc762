#include "otpp/config/demo.hpp"

#include <atomic>
#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "otpp/actors/guards/protected_operation.hpp"
#include "otpp/actors/health/health.hpp"
#include "otpp/actors/thread_call.hpp"
#include "otpp/actors/workers/sql.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::config {

namespace {

struct counters {
  std::atomic<uint64_t> ok{0}, failed{0}, crashed{0}, limited{0}, open{0}, other{0}, reads{0};
};

// The configuration values, kept once the database worker confirmed them.
struct config_store {
  std::mutex mutex;
  std::map<std::string, std::string> values;
  std::set<std::string> confirmed; ///< every value whose update was reported successful
};

void client(node& n, const demo_config& demo, int id, std::chrono::steady_clock::time_point end,
            const std::string& persist, counters& seen, config_store& store) {
  caf::scoped_actor self{n.system()};
  std::mt19937 random{static_cast<uint32_t>(id * 7919 + 1)};
  std::uniform_real_distribution<double> chance{0, 1};
  protection p;
  p.ns = "config";
  p.service = "config_server";
  p.limiter = "config_update";
  p.key = "client:" + std::to_string(id);
  p.pool = "database";
  p.breaker = "config_server";
  p.checkout_timeout = std::chrono::seconds(1);
  auto pause = std::chrono::microseconds(static_cast<int64_t>(1e6 / demo.rate_per_s));
  for (int i = 0; std::chrono::steady_clock::now() < end && !n.stop_requested(); ++i) {
    auto key = "setting." + std::to_string(random() % static_cast<uint32_t>(demo.keys));
    auto value = "v" + std::to_string(i) + "@client" + std::to_string(id);
    bool crash = chance(random) < demo.crash_probability;
    bool fail = chance(random) < demo.failure_probability;
    auto r = protected_operation(n.system(), p, [&](const caf::actor& db) -> caf::expected<std::string> {
      if (crash) {
        caf::anon_send_exit(db, caf::exit_reason::kill); // the database connection breaks
        seen.crashed++;
        return caf::make_error(caf::sec::runtime_error, "database worker crashed");
      }
      if (fail)
        return caf::make_error(caf::sec::runtime_error, "config server rejected the update");
      if (persist.empty())
        return thread_call<std::string>(self, db, std::chrono::seconds(1), value);
      // The change and its audit row in one transaction on the pooled connection.
      auto step = [&](const char* sql, std::vector<workers::sql_value> params) {
        return workers::execute(self, db, sql, params);
      };
      using workers::sql_value;
      auto begin = step(persist == "sqlite" ? "BEGIN IMMEDIATE" : "BEGIN", {}); // SQLite: take the write lock now
      if (!begin)
        return begin.error();
      auto written = step("INSERT INTO config VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          {sql_value::of(key), sql_value::of(value)});
      if (written)
        written = step("INSERT INTO audit VALUES ($1, $2, $3)",
                       {sql_value::of(key), sql_value::of(value), sql_value::of(p.key)});
      if (written)
        written = step("COMMIT", {});
      if (!written) {
        step("ROLLBACK", {});
        return written.error();
      }
      return value;
    });
    if (r) {
      std::lock_guard<std::mutex> guard{store.mutex};
      store.values[key] = *r;
      store.confirmed.insert(*r);
      seen.ok++;
    } else if (auto guard = refused_by(r.error())) {
      (*guard == guard_errc::rate_limited ? seen.limited : *guard == guard_errc::circuit_open ? seen.open : seen.other)++;
    } else {
      seen.failed++;
    }
    { // a read of the current value, without guards
      std::lock_guard<std::mutex> guard{store.mutex};
      store.values.count(key);
      seen.reads++;
    }
    std::this_thread::sleep_for(pause); // the client's pace, not a synchronisation
  }
}

// With SQL database workers (sqlite, postgres) the updates are stored with
// an audit row: the kind, or empty.
std::string persistent(node& n) {
  auto config = n.config();
  for (auto& p : config.pools)
    if (p.config.name == "database" && (p.config.worker == "sqlite" || p.config.worker == "postgres"))
      return p.config.worker;
  return {};
}

caf::expected<workers::sql_rows> execute_once(node& n, const std::string& sql) {
  caf::scoped_actor self{n.system()};
  auto pool = pool::find_pool(n.system(), "database");
  if (!pool)
    return pool.error();
  auto r = pool->transaction([&](const caf::actor& db) { return workers::execute(self, db, sql, {}); });
  if (!r)
    return r.error();
  return *r;
}

} // namespace

demo_summary run_demo(node& n, const demo_config& demo) {
  counters seen;
  config_store store;
  auto persist = persistent(n);
  if (!persist.empty()) {
    execute_once(n, "CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT)");
    execute_once(n, "CREATE TABLE IF NOT EXISTS audit (key TEXT, value TEXT, client TEXT)");
    execute_once(n, "DELETE FROM audit");
  }
  auto end = std::chrono::steady_clock::now() + demo.duration;
  std::vector<std::thread> clients;
  for (int id = 0; id < demo.clients; ++id)
    clients.emplace_back([&, id] { client(n, demo, id, end, persist, seen, store); });
  for (auto& c : clients)
    c.join();
  demo_summary summary{seen.ok, seen.failed, seen.crashed, seen.limited, seen.open, seen.other, seen.reads, -1, 0, {}};
  if (persist.empty())
    return summary;
  // Every update reported successful must have its audit row.
  auto audit = execute_once(n, "SELECT value FROM audit");
  if (!audit) {
    summary.audit_error = supervision::describe(audit.error());
    return summary;
  }
  std::set<std::string> stored;
  for (auto& row : *audit)
    stored.insert(row.at(0).bytes);
  summary.audit_rows = static_cast<int64_t>(audit->size());
  summary.lost_audit_rows = static_cast<int64_t>(
    std::count_if(store.confirmed.begin(), store.confirmed.end(), [&](auto& v) { return stored.count(v) == 0; }));
  return summary;
}

std::string demo_summary::database_line() const {
  if (!audit_error.empty())
    return "database: cannot read the audit rows: " + audit_error;
  if (audit_rows < 0)
    return "database: echo workers (nothing stored)";
  auto line = "database: " + std::to_string(audit_rows) + " audit rows for " + std::to_string(updates_ok)
              + " successful updates";
  if (lost_audit_rows > 0)
    return line + " (" + std::to_string(lost_audit_rows) + " LOST)";
  auto unreported = audit_rows - static_cast<int64_t>(updates_ok);
  return line + " (none lost" + (unreported > 0 ? "; " + std::to_string(unreported) + " committed but reported failed" : "") + ")";
}

std::string demo_summary::to_text(node& n) const {
  auto snapshot = perf::metrics().take_snapshot();
  auto value = [&](const std::string& family, const perf::label_values& labels) {
    auto* s = snapshot.find(family, labels);
    return s ? std::to_string(static_cast<long long>(s->value)) : std::string{"-"};
  };
  auto restarts = static_cast<uint64_t>(snapshot.sum("otpp_supervisor_restarts_total"));
  auto h = health::check(n.system(), n.root(), n.name());
  std::ostringstream out;
  out << "== demo summary: " << n.name() << " ==\n"
      << "updates ok " << updates_ok << ", failed " << updates_failed << " (" << workers_crashed
      << " database workers crashed on purpose)\n"
      << "refused: rate limited " << rate_limited << ", circuit open " << circuit_open << ", other " << other_refusals
      << "\n"
      << "reads " << reads << "\n"
      << database_line() << "\n"
      << "database pool: idle " << value("otpp_pool_workers", {"database", "idle"}) << ", busy "
      << value("otpp_pool_workers", {"database", "busy"}) << ", overflow "
      << value("otpp_pool_workers", {"database", "overflow"}) << "; worker exits: crash "
      << value("otpp_pool_worker_exits_total", {"database", "crash"}) << ", dismissed "
      << value("otpp_pool_worker_exits_total", {"database", "dismissed"}) << "\n"
      << "breaker config_server: open " << value("otpp_breaker_state", {"config_server", "open"})
      << ", calls refused " << value("otpp_breaker_calls_total", {"config_server", "rejected"}) << "\n"
      << "supervisor restarts " << restarts << "\n"
      << "health: " << health::to_string(h.state) << (h.reason.empty() ? "" : " (" + h.reason + ")") << "\n";
  return out.str();
}

} // namespace otpp::config
