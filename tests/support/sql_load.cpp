#include "tests/support/sql_load.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <caf/scoped_actor.hpp>

#include "otpp/actors/thread_call.hpp"
#include "otpp/actors/workers/sql.hpp"

namespace otpp::test {

int audited_updates(caf::actor_system& sys, const pool::pool_ref& pool, const std::string& begin) {
  using workers::sql_value;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      caf::scoped_actor self{sys};
      for (int i = 0; i < 125; ++i) {
        auto key = sql_value::of("k" + std::to_string(i % 10));
        auto value = sql_value::of(std::to_string(t) + ":" + std::to_string(i));
        auto done = pool.transaction(
          [&](const caf::actor& w) {
            auto step = [&](const std::string& sql, std::vector<sql_value> params) {
              return thread_call<workers::sql_rows>(self, w, std::chrono::seconds(10), workers::execute_atom::value,
                                                    sql, params);
            };
            if (!step(begin, {}))
              return false;
            if (step("INSERT INTO config VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     {key, value})
                && step("INSERT INTO audit VALUES ($1, $2)", {key, value}) && step("COMMIT", {}))
              return true;
            step("ROLLBACK", {});
            return false;
          },
          std::chrono::seconds(10));
        if (done && *done)
          ++succeeded;
      }
    });
  for (auto& t : threads)
    t.join();
  return succeeded;
}

} // namespace otpp::test
