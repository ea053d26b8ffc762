#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/message.hpp>

#include "otpp/actors/workers/db_errors.hpp"

struct redisContext;

namespace otpp::workers {

/// A Redis reply.
struct redis_value {
  enum class kind : uint8_t { nil, integer, text, status, array };
  redis_value::kind type = kind::nil;
  int64_t integer = 0;
  std::string text; ///< text and status replies, any bytes
  std::vector<redis_value> elements;
};

/// Code that runs on a worker's live connection (plain hiredis calls).
using redis_operation = std::function<caf::message(redisContext*)>;

/// Messages of a `redis` worker (besides `run_atom` with a `redis_operation`):
/// - (command_atom, std::vector<std::string> args) -> redis_value
///   (an error reply is `sql_error` with the server's text)
using command_atom = caf::atom_constant<caf::atom("command")>;

/// Registers the `redis` worker kind: one connection per worker to `url`
/// (required, redis://[[user]:password@]host[:port][/db]), `timeout_ms`
/// (default 1000), optional `password` and `db` (over the URL's). It connects
/// when it starts (a failure is the pool's start_error). An error reply leaves
/// the connection as it is; a broken connection (I/O error, timeout) is
/// opened again and the command answers `connection_reset`, or the worker
/// exits when it cannot reconnect. Idempotent.
void register_redis_kind();

} // namespace otpp::workers

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::redis_value)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(otpp::workers::redis_operation)
