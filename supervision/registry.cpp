#include "otpp/supervision/registry.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>

namespace otpp::supervision {

namespace {

bool terminated(const caf::actor& who) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(who);
  return ptr == nullptr || ptr->getf(caf::abstract_actor::is_terminated_flag);
}

} // namespace

registry::writer_first_lock::writer_first_lock() {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&lock_, &attr);
  pthread_rwlockattr_destroy(&attr);
}

registry::writer_first_lock::~writer_first_lock() {
  pthread_rwlock_destroy(&lock_);
}

registry& registry::of(caf::actor_system& sys) {
  static std::mutex mtx;
  static std::map<caf::actor_system*, std::unique_ptr<registry>> tables;
  std::lock_guard<std::mutex> guard{mtx};
  auto& table = tables[&sys];
  if (!table)
    table = std::make_unique<registry>();
  return *table;
}

bool registry::put(const std::string& name, const caf::actor& who) {
  {
    std::unique_lock<writer_first_lock> guard{mtx_};
    auto& entry = entries_[name];
    if (entry && entry != who && !terminated(entry))
      return false;
    entry = who;
  }
  // Runs at once if `who` already terminated.
  who->attach_functor([this, name, addr = who.address()] { erase(name, addr); });
  return true;
}

caf::actor registry::whereis(const std::string& name) const {
  std::shared_lock<writer_first_lock> guard{mtx_};
  auto i = entries_.find(name);
  if (i == entries_.end() || terminated(i->second))
    return {};
  return i->second;
}

void registry::erase(const std::string& name, const caf::actor_addr& who) {
  std::unique_lock<writer_first_lock> guard{mtx_};
  auto i = entries_.find(name);
  if (i != entries_.end() && i->second.address() == who)
    entries_.erase(i);
}

std::vector<std::string> registry::names() const {
  std::shared_lock<writer_first_lock> guard{mtx_};
  std::vector<std::string> result;
  for (const auto& [name, who] : entries_)
    result.push_back(name);
  std::sort(result.begin(), result.end());
  return result;
}

caf::actor whereis(caf::actor_system& sys, const std::string& name) {
  return registry::of(sys).whereis(name);
}

} // namespace otpp::supervision
