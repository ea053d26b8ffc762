#include "actors/pool/worker_kinds.hpp"

#include <deque>
#include <memory>
#include <mutex>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

#include "supervision/errors.hpp"

namespace otpp::pool {

namespace {

caf::behavior echo_worker(caf::event_based_actor* self) {
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    return x.move_content_to_message();
  });
  return {[](int x) { return x; }};
}

using wake_atom = caf::atom_constant<caf::atom("wake")>;

caf::behavior sleep_worker(caf::event_based_actor* self, std::chrono::milliseconds delay) {
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    return x.move_content_to_message();
  });
  // Equal delays fire in order, so the oldest promise is always the one due.
  auto pending = std::make_shared<std::deque<caf::response_promise>>();
  return {
    [self, delay, pending](sleep_atom) {
      pending->push_back(self->make_response_promise());
      self->delayed_send(self, delay, wake_atom::value);
      return pending->back();
    },
    [pending](wake_atom) {
      pending->front().deliver(sleep_atom::value);
      pending->pop_front();
    },
  };
}

struct kind {
  worker_factory factory;
  std::optional<std::vector<std::string>> arguments;
};

struct kind_table {
  std::mutex mtx;
  std::map<std::string, kind> kinds;

  kind_table() {
    kinds["echo"] = {[](supervision::start_context& ctx, const worker_args&) -> caf::expected<caf::actor> {
                       return ctx.spawn(echo_worker);
                     },
                     std::vector<std::string>{}};
    kinds["sleep"] = {[](supervision::start_context& ctx, const worker_args& args) -> caf::expected<caf::actor> {
                        auto delay = int_arg(args, "delay_ms", 10);
                        if (!delay)
                          return delay.error();
                        return ctx.spawn(sleep_worker, std::chrono::milliseconds{*delay});
                      },
                      std::vector<std::string>{"delay_ms"}};
  }
};

kind_table& table() {
  static kind_table instance;
  return instance;
}

} // namespace

void register_worker_kind(const std::string& name, worker_factory factory,
                          std::optional<std::vector<std::string>> arguments) {
  auto& t = table();
  std::lock_guard<std::mutex> guard{t.mtx};
  t.kinds[name] = {std::move(factory), std::move(arguments)};
}

caf::expected<worker_factory> find_worker_kind(const std::string& name) {
  auto& t = table();
  std::lock_guard<std::mutex> guard{t.mtx};
  auto i = t.kinds.find(name);
  if (i != t.kinds.end())
    return i->second.factory;
  std::string known;
  for (const auto& entry : t.kinds)
    known += (known.empty() ? "" : ", ") + entry.first;
  return supervision::make_error(supervision::errc::invalid_spec,
                                 "unknown worker kind '" + name + "' (known: " + known + ")");
}

std::optional<std::vector<std::string>> worker_kind_arguments(const std::string& name) {
  auto& t = table();
  std::lock_guard<std::mutex> guard{t.mtx};
  auto i = t.kinds.find(name);
  if (i == t.kinds.end())
    return std::nullopt;
  return i->second.arguments;
}

std::vector<std::string> worker_kinds() {
  auto& t = table();
  std::lock_guard<std::mutex> guard{t.mtx};
  std::vector<std::string> result;
  for (const auto& entry : t.kinds)
    result.push_back(entry.first);
  return result;
}

caf::expected<std::string> required_arg(const worker_args& args, const std::string& key, const std::string& kind) {
  auto i = args.find(key);
  if (i == args.end() || i->second.empty())
    return supervision::make_error(supervision::errc::invalid_spec,
                                   kind + " worker: the argument '" + key + "' is required");
  return i->second;
}

caf::expected<long long> int_arg(const worker_args& args, const std::string& key, long long fallback) {
  auto i = args.find(key);
  if (i == args.end())
    return fallback;
  try {
    std::size_t used = 0;
    auto value = std::stoll(i->second, &used);
    if (used == i->second.size() && value >= 0)
      return value;
  } catch (const std::exception&) {
  }
  return supervision::make_error(supervision::errc::invalid_spec,
                                 "worker argument " + key + " must be a non-negative integer, got '"
                                   + i->second + "'");
}

} // namespace otpp::pool
