#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>

namespace otpp::pool {

/// What a worker lends to the holder of its lease, NimblePool's way: the
/// holder uses it on its own thread (no message, no thread switch) while
/// the worker actor keeps owning its lifecycle. A worker kind creates it
/// with the worker and makes it reachable with `offer_direct`; callers reach
/// it with `pool_ref::direct_transaction` (or `direct_resource_of`) while
/// they hold the worker's lease, which makes them its only user among
/// callers. If the worker actor uses it too, the implementation locks.
///
/// Failure rules, as for a worker's replies: an operation that fails returns
/// its error to the holder; a resource that cannot be used again calls
/// `give_up`, and the worker exits with that reason (its pool replaces it,
/// within the supervisor's intensity); a holder that finds it broken calls
/// `lease::fail`. A worker that has ended lends nothing.
class direct_resource {
public:
  virtual ~direct_resource() = default;

protected:
  /// The resource cannot be used again: its worker exits with `reason`
  /// (as if it had crashed with it).
  void give_up(const caf::error& reason) const;

private:
  friend void offer_direct(const caf::actor& worker, std::shared_ptr<direct_resource> resource);
  caf::actor_addr worker_;
};

/// For worker kinds: makes `resource` what `direct_resource_of(worker)`
/// returns, until the worker ends (call it right after spawning the worker).
void offer_direct(const caf::actor& worker, std::shared_ptr<direct_resource> resource);

/// The resource `worker` lends, or null: a worker of a kind that lends
/// none, of another node, or one that has ended.
std::shared_ptr<direct_resource> direct_resource_of(const caf::actor& worker);

/// The resource `worker` lends, as `R`, or null (none, or of another type).
template <class R>
std::shared_ptr<R> direct_resource_as(const caf::actor& worker) {
  return std::dynamic_pointer_cast<R>(direct_resource_of(worker));
}

} // namespace otpp::pool
