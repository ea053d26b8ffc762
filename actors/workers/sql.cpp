#include "otpp/actors/workers/sql.hpp"

#include <mutex>
#include <unordered_map>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message_id.hpp>
#include <caf/system_messages.hpp>

#include "otpp/actors/thread_call.hpp"

namespace otpp::workers {

namespace {

// The sessions of the workers alive in this process, by actor (a pointer is
// unique while the actor lives; its entry goes when it ends).
struct session_table {
  std::mutex mtx;
  std::unordered_map<const caf::abstract_actor*, std::shared_ptr<sql_session>> sessions;
};

session_table& table() {
  static session_table instance;
  return instance;
}

} // namespace

void sql_session::give_up(const caf::error& reason) const {
  // anon_send_exit takes only an exit_reason; the pool should see the cause.
  if (auto worker = caf::actor_cast<caf::strong_actor_ptr>(worker_))
    worker->enqueue(nullptr, caf::make_message_id(), caf::make_message(caf::exit_msg{worker->address(), reason}), nullptr);
}

void register_session(const caf::actor& worker, std::shared_ptr<sql_session> session) {
  auto* key = caf::actor_cast<caf::abstract_actor*>(worker);
  session->worker_ = worker.address();
  {
    std::lock_guard<std::mutex> guard{table().mtx};
    table().sessions[key] = std::move(session);
  }
  key->attach_functor([key] { // at once if the worker has already ended
    std::lock_guard<std::mutex> guard{table().mtx};
    table().sessions.erase(key);
  });
}

caf::expected<sql_rows> execute(caf::scoped_actor& self, const caf::actor& worker, const std::string& sql,
                                const std::vector<sql_value>& params, std::chrono::milliseconds timeout) {
  std::shared_ptr<sql_session> session;
  auto* key = caf::actor_cast<caf::abstract_actor*>(worker);
  // A worker that has ended is not used, even before its entry goes (its
  // monitors may fire first).
  if (key != nullptr && !key->getf(caf::abstract_actor::is_terminated_flag)) {
    std::lock_guard<std::mutex> guard{table().mtx};
    if (auto i = table().sessions.find(key); i != table().sessions.end())
      session = i->second;
  }
  if (session)
    return session->execute(sql, params);
  return thread_call<sql_rows>(self, worker, timeout, execute_atom::value, sql, params);
}

} // namespace otpp::workers
