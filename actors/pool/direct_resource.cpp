#include "otpp/actors/pool/direct_resource.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/message_id.hpp>
#include <caf/system_messages.hpp>

#include "otpp/actors/spin_lock.hpp"

namespace otpp::pool {

namespace {

// The resources of the workers alive in this process, by actor (a pointer
// is unique while the actor lives; its entry goes when it ends), in shards:
// a thread preempted during its lookup holds up only the threads whose
// workers share its shard.
struct resource_shard {
  otpp::spin_lock mtx; // held for a lookup: cheaper than a mutex when many threads lease at once
  std::unordered_map<const caf::abstract_actor*, std::shared_ptr<direct_resource>> resources;
};

resource_shard& shard_of(const caf::abstract_actor* key) {
  static std::array<resource_shard, 64> shards;
  return shards[(reinterpret_cast<std::uintptr_t>(key) >> 6) % shards.size()];
}

} // namespace

void direct_resource::give_up(const caf::error& reason) const {
  // anon_send_exit takes only an exit_reason; the pool should see the cause.
  if (auto worker = caf::actor_cast<caf::strong_actor_ptr>(worker_))
    worker->enqueue(nullptr, caf::make_message_id(), caf::make_message(caf::exit_msg{worker->address(), reason}), nullptr);
}

void offer_direct(const caf::actor& worker, std::shared_ptr<direct_resource> resource) {
  auto* key = caf::actor_cast<caf::abstract_actor*>(worker);
  resource->worker_ = worker.address();
  auto& shard = shard_of(key);
  {
    std::lock_guard<otpp::spin_lock> guard{shard.mtx};
    shard.resources[key] = std::move(resource);
  }
  key->attach_functor([key, &shard] { // at once if the worker has already ended
    std::lock_guard<otpp::spin_lock> guard{shard.mtx};
    shard.resources.erase(key);
  });
}

std::shared_ptr<direct_resource> direct_resource_of(const caf::actor& worker) {
  auto* key = caf::actor_cast<caf::abstract_actor*>(worker);
  // A worker that has ended lends nothing, even before its entry goes (its
  // monitors may fire first).
  if (key == nullptr || key->getf(caf::abstract_actor::is_terminated_flag))
    return nullptr;
  auto& shard = shard_of(key);
  std::lock_guard<otpp::spin_lock> guard{shard.mtx};
  auto i = shard.resources.find(key);
  return i != shard.resources.end() ? i->second : nullptr;
}

} // namespace otpp::pool
