#include "otpp/actors/redis/connection.hpp"

#include <signal.h>
#include <sys/time.h>

#include <optional>

#include <hiredis/hiredis.h>

#include "otpp/supervision/errors.hpp"

namespace otpp::redis {

std::string to_string(redis_errc code) {
  switch (code) {
    case redis_errc::bad_url: return "bad_url";
    case redis_errc::unavailable: return "unavailable";
    case redis_errc::server_error: return "server_error";
  }
  return "unknown_redis_errc";
}

caf::error make_error(redis_errc code, std::string text) {
  return supervision::make_categorized_error(redis_errc_category, static_cast<uint8_t>(code), std::move(text));
}

namespace {

const bool redis_errors_named = [] {
  supervision::add_error_names(redis_errc_category,
                               [](uint8_t code) { return to_string(static_cast<redis_errc>(code)); });
  return true;
}();

// A decimal number in [low, high], or -1.
long long parse_number(const std::string& text, long long low, long long high) {
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  auto n = std::stoll(text);
  return n < low || n > high ? -1 : n;
}

timeval to_timeval(std::chrono::milliseconds t) {
  if (t.count() < 1)
    t = std::chrono::milliseconds{1};
  return {static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
}

// Splits host[:port] (host may be [IPv6]) into `e`; what is wrong, if anything.
std::optional<std::string> split_host_port(const std::string& rest, endpoint& e, bool port_required) {
  std::string port;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') { // [IPv6]:port
    auto close = rest.find(']');
    if (close == std::string::npos)
      return "'[' without ']'";
    e.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':')
        return "expected ':' after ']'";
      port = rest.substr(close + 2);
      has_port = true;
    }
  } else if (auto colon = rest.find(':'); colon != std::string::npos) {
    e.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    has_port = true;
  } else {
    e.host = rest;
  }
  if (has_port && port.empty())
    return "empty port";
  if (e.host.empty())
    return "no host";
  if (!has_port && port_required)
    return "no port";
  if (has_port) {
    auto p = parse_number(port, 1, 65535);
    if (p < 0)
      return "the port must be a number in [1, 65535]";
    e.port = static_cast<int>(p);
  }
  return std::nullopt;
}

} // namespace

std::string redact_url(const std::string& url) {
  auto scheme_end = url.find("://");
  auto credentials_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  auto at = url.rfind('@');
  if (at == std::string::npos || at < credentials_start)
    return url;
  auto colon = url.find(':', credentials_start);
  auto secret_start = colon != std::string::npos && colon < at ? colon + 1 : credentials_start;
  return url.substr(0, secret_start) + "***" + url.substr(at);
}

caf::expected<endpoint> parse_url(const std::string& url) {
  auto bad = [&](const std::string& what) {
    return make_error(redis_errc::bad_url, "bad Redis URL '" + redact_url(url) + "': " + what);
  };
  const std::string scheme = "redis://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return bad("must start with redis://");
  auto rest = url.substr(scheme.size());
  endpoint e;
  // The path starts at the first '/' after the credentials (a password may hold '/').
  auto at_sign = rest.rfind('@');
  if (auto slash = rest.find('/', at_sign == std::string::npos ? 0 : at_sign); slash != std::string::npos) {
    auto path = rest.substr(slash + 1);
    auto db = path.empty() ? 0 : parse_number(path, 0, 1'000'000);
    if (db < 0)
      return bad("the database after '/' must be a number");
    e.db = static_cast<int>(db);
    rest.resize(slash);
  }
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    auto credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = credentials.find(':'); colon != std::string::npos) {
      e.user = credentials.substr(0, colon);
      e.password = credentials.substr(colon + 1);
    } else {
      e.password = credentials;
    }
  }
  if (auto err = split_host_port(rest, e, false))
    return bad(*err);
  return e;
}

caf::expected<endpoint> parse_host_port(const std::string& text) {
  endpoint e;
  if (auto err = split_host_port(text, e, true))
    return make_error(redis_errc::bad_url, "bad host:port '" + text + "': " + *err);
  return e;
}

void reply_deleter::operator()(redisReply* r) const {
  freeReplyObject(r);
}

caf::expected<std::unique_ptr<connection>> connection::open(const endpoint& where, std::chrono::milliseconds timeout) {
  // hiredis writes with write(): a server that closed the connection would
  // kill the process with SIGPIPE unless someone already chose a handler.
  static const bool sigpipe_ignored = [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
      signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void) sigpipe_ignored;
  auto* context = redisConnectWithTimeout(where.host.c_str(), where.port, to_timeval(timeout));
  if (context == nullptr)
    return make_error(redis_errc::unavailable, "cannot allocate a Redis connection");
  std::unique_ptr<connection> c{new connection(context)};
  auto place = where.host + ":" + std::to_string(where.port);
  if (context->err != 0)
    return make_error(redis_errc::unavailable, "cannot connect to Redis at " + place + ": " + context->errstr);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  };
  c->set_timeout(left());
  if (!where.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!where.user.empty())
      auth.push_back(where.user);
    auth.push_back(where.password);
    if (auto r = c->command(auth); !r)
      return r.error();
  }
  if (where.db != 0) {
    c->set_timeout(left());
    if (auto r = c->command({"SELECT", std::to_string(where.db)}); !r)
      return r.error();
  }
  return c;
}

connection::~connection() {
  redisFree(context_);
}

void connection::set_timeout(std::chrono::milliseconds timeout) {
  redisSetTimeout(context_, to_timeval(timeout));
}

caf::expected<reply> connection::command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  reply r{static_cast<redisReply*>(
    redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data()))};
  if (!r)
    return make_error(redis_errc::unavailable, std::string{"Redis connection failed: "} + context_->errstr);
  if (r->type == REDIS_REPLY_ERROR)
    return make_error(redis_errc::server_error, std::string{r->str, r->len});
  return r;
}

std::vector<reply> connection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (auto& args : commands) {
    argv.clear();
    lengths.clear();
    for (auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data());
  }
  std::vector<reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* r = nullptr;
    if (redisGetReply(context_, &r) != REDIS_OK || r == nullptr)
      break;
    replies.emplace_back(static_cast<redisReply*>(r));
  }
  return replies;
}

caf::error connection::failure() const {
  return make_error(redis_errc::unavailable, std::string{"Redis connection failed: "} + context_->errstr);
}

caf::expected<reply> connection::checked(reply r) {
  if (r->type == REDIS_REPLY_ERROR)
    return make_error(redis_errc::server_error, std::string{r->str, r->len});
  return r;
}

bool connection::broken() const {
  return context_->err != 0;
}

} // namespace otpp::redis
