#include "otpp/actors/redis/sentinel.hpp"

#include <hiredis/hiredis.h>

#include "otpp/supervision/errors.hpp"

namespace otpp::redis {

namespace {

std::string place(const endpoint& e) {
  return e.host + ":" + std::to_string(e.port);
}

std::string text_of(const redisReply* r) {
  return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ? std::string{r->str, r->len} : std::string{};
}

caf::expected<endpoint> ask_one(const endpoint& sentinel, const std::string& name,
                                std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() < 1)
    return make_error(redis_errc::unavailable, "timeout");
  auto c = connection::open(sentinel, left);
  if (!c)
    return c.error();
  auto r = (*c)->command({"SENTINEL", "get-master-addr-by-name", name});
  if (!r)
    return r.error();
  if ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements != 2)
    return make_error(redis_errc::unavailable, "does not know master '" + name + "'");
  auto found = parse_host_port(text_of((*r)->element[0]) + ":" + text_of((*r)->element[1]));
  if (!found)
    return make_error(redis_errc::unavailable, "unexpected reply to SENTINEL get-master-addr-by-name");
  return found;
}

} // namespace

caf::expected<endpoint> ask_sentinels(const std::vector<endpoint>& sentinels, const std::string& name,
                                      std::chrono::steady_clock::time_point deadline) {
  std::string failures;
  for (auto& s : sentinels) {
    auto found = ask_one(s, name, deadline);
    if (found)
      return found;
    failures += (failures.empty() ? "" : "; ") + place(s) + ": " + supervision::describe(found.error());
  }
  return make_error(redis_errc::unavailable, "no sentinel named master '" + name + "' (" + failures + ")");
}

caf::error check_master(connection& c) {
  auto r = c.command({"ROLE"});
  if (!r)
    return r.error();
  if ((*r)->type != REDIS_REPLY_ARRAY || (*r)->elements == 0 || text_of((*r)->element[0]) != "master")
    return make_error(redis_errc::unavailable, "the server named by Sentinel is not a master (ROLE)");
  return {};
}

} // namespace otpp::redis
