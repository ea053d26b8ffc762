#include "tests/support/scripted_worker.hpp"

#include <algorithm>
#include <stdexcept>

#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/exceptions.hpp"

namespace otpp::test {

void event_log::add(std::string event) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back(std::move(event));
  }
  cv_.notify_all();
}

std::vector<std::string> event_log::events() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return events_;
}

std::vector<std::string> event_log::starting_with(const std::string& prefix) const {
  std::vector<std::string> result;
  for (auto& e : events())
    if (e.compare(0, prefix.size(), prefix) == 0)
      result.push_back(e);
  return result;
}

std::size_t event_log::count(const std::string& event) const {
  std::lock_guard<std::mutex> guard{mtx_};
  return static_cast<std::size_t>(std::count(events_.begin(), events_.end(), event));
}

void event_log::clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  events_.clear();
}

bool event_log::wait_for(const std::string& event, std::size_t times,
                         std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{mtx_};
  return cv_.wait_for(guard, timeout, [&] {
    return static_cast<std::size_t>(std::count(events_.begin(), events_.end(), event)) >= times;
  });
}

caf::behavior scripted_worker(caf::event_based_actor* self, std::shared_ptr<event_log> log,
                              std::string tag, worker_script script) {
  log->add("start:" + tag);
  self->attach_functor([log, tag](const caf::error& reason) {
    log->add("stop:" + tag + ":" + supervision::describe(reason));
  });
  if (script.crash_in_init)
    throw std::runtime_error("init failed " + tag);
  if (script.trap_exit)
    self->set_exit_handler([log, tag](caf::exit_msg& msg) {
      log->add("ignored_exit:" + tag + ":" + supervision::describe(msg.reason));
    });
  return {
    [tag](crash_atom) -> std::string { throw std::runtime_error("boom " + tag); },
    [self](finish_atom) { self->quit(); },
    [tag](tag_atom) { return tag; },
  };
}

supervision::start_function start_worker(std::shared_ptr<event_log> log, std::string tag,
                                         worker_script script) {
  return [log, tag, script](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto full_tag = ctx.args().empty() ? tag : tag + ":" + caf::to_string(ctx.args());
    return ctx.spawn(scripted_worker, log, full_tag, script);
  };
}

supervision::start_function start_failing(std::shared_ptr<event_log> log, std::string tag,
                                          int failures, int successes) {
  auto calls = std::make_shared<int>(0);
  return [log, tag, calls, failures, successes](supervision::start_context& ctx) -> caf::expected<caf::actor> {
    auto call = (*calls)++;
    if (call >= successes && call < successes + failures) {
      log->add("start_failed:" + tag);
      return supervision::make_error(supervision::errc::start_failed, "scripted failure " + tag);
    }
    return start_worker(log, tag)(ctx);
  };
}

supervision::child_spec worker_spec(std::shared_ptr<event_log> log, std::string id,
                                    supervision::restart_type restart) {
  supervision::child_spec spec;
  spec.id = id;
  spec.start = start_worker(log, id);
  spec.restart = restart;
  return spec;
}

supervision::child_spec stubborn_spec(std::shared_ptr<event_log> log, std::string id,
                                      std::chrono::milliseconds shutdown) {
  worker_script script;
  script.trap_exit = true;
  supervision::child_spec spec;
  spec.id = id;
  spec.start = start_worker(log, id, script);
  spec.shutdown = supervision::shutdown_policy::after(shutdown);
  return spec;
}

supervision::child_spec failing_spec(std::shared_ptr<event_log> log, std::string id) {
  supervision::child_spec spec;
  spec.id = id;
  spec.start = start_failing(log, id, 1);
  return spec;
}

} // namespace otpp::test
