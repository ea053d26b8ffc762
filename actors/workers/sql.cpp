#include "otpp/actors/workers/sql.hpp"

#include "otpp/actors/thread_call.hpp"

namespace otpp::workers {

caf::expected<sql_rows> execute(caf::scoped_actor& self, const caf::actor& worker, const std::string& sql,
                                const std::vector<sql_value>& params, std::chrono::milliseconds timeout) {
  if (auto session = pool::direct_resource_as<sql_session>(worker))
    return session->execute(sql, params);
  return thread_call<sql_rows>(self, worker, timeout, execute_atom::value, sql, params);
}

} // namespace otpp::workers
