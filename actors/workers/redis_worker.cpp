#include "otpp/actors/workers/redis_worker.hpp"

#include <hiredis/hiredis.h>

#include <caf/event_based_actor.hpp>

#include "otpp/actors/events/bus.hpp"
#include "otpp/actors/pool/worker_kinds.hpp"
#include "otpp/actors/redis/connection.hpp"
#include "otpp/supervision/errors.hpp"

namespace otpp::workers {

namespace {

struct redis_settings {
  redis::endpoint where;
  std::chrono::milliseconds timeout{1000};
};

redis_value convert(const redisReply& r) {
  redis_value v;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      v.type = redis_value::kind::integer;
      v.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
      v.type = redis_value::kind::text;
      v.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = redis_value::kind::status;
      v.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      v.type = redis_value::kind::array;
      for (std::size_t i = 0; i < r.elements; ++i)
        v.elements.push_back(convert(*r.element[i]));
      break;
    default: break; // nil
  }
  return v;
}

// What a worker connects to, for its events: host:port/db (never the credentials).
std::string target_of(const redis::endpoint& e) {
  return e.host + ":" + std::to_string(e.port) + "/" + std::to_string(e.db);
}

caf::expected<std::unique_ptr<redis::connection>> connect(const redis_settings& s) {
  auto c = redis::connection::open(s.where, s.timeout);
  if (!c)
    return make_error(db_errc::unavailable, supervision::describe(c.error()));
  return c;
}

caf::behavior redis_worker(caf::event_based_actor* self, std::shared_ptr<std::unique_ptr<redis::connection>> held,
                           redis_settings s) {
  return {
    [self, held, s](command_atom, const std::vector<std::string>& args) -> caf::result<redis_value> {
      auto& c = *held;
      auto r = c->command(args);
      if (r)
        return convert(**r);
      if (!c->broken())
        return make_error(db_errc::sql_error, supervision::describe(r.error()));
      // Broken: connect again; this command is lost.
      events::emit(events::connection_lost{"redis", target_of(s.where), supervision::describe(r.error()), "reconnect"});
      auto again = connect(s);
      if (!again) {
        events::emit(events::connection_lost{"redis", target_of(s.where), supervision::describe(again.error()), "exit"});
        self->quit(again.error()); // the pool replaces this worker
        return again.error();
      }
      c = std::move(*again);
      return make_error(db_errc::connection_reset,
                        "the Redis connection was opened again: " + supervision::describe(r.error()));
    },
    [held](run_atom, const redis_operation& op) -> caf::message { return op((*held)->raw()); },
  };
}

} // namespace

void register_redis_kind() {
  static const bool registered = [] {
    using namespace supervision;
    auto url = string_arg("url").required().validate([](const argument_value& v) -> std::string {
      auto parsed = redis::parse_url(std::get<std::string>(v));
      return parsed ? std::string{} : describe(parsed.error());
    });
    pool::register_worker_kind(
      "redis",
      {std::move(url), integer_arg("timeout_ms", 1, 3'600'000).defaults(1000), string_arg("password"),
       integer_arg("db", 0, 1'000'000)},
      [](start_context& ctx, const pool::worker_args& args) -> caf::expected<caf::actor> {
        auto where = redis::parse_url(args.get_string("url"));
        if (!where)
          return where.error();
        redis_settings s{*where, std::chrono::milliseconds{args.get_int("timeout_ms")}};
        if (args.has("password"))
          s.where.password = args.get_string("password");
        if (args.has("db"))
          s.where.db = static_cast<int>(args.get_int("db"));
        auto opened = connect(s); // a failure is the pool's start_error
        if (!opened)
          return opened.error();
        // hiredis calls block: a thread of its own, as the sqlite kind.
        return ctx.spawn_detached(redis_worker,
                                  std::make_shared<std::unique_ptr<redis::connection>>(std::move(*opened)), s);
      });
    return true;
  }();
  (void) registered;
}

} // namespace otpp::workers
