#pragma once

#include <cstdint>
#include <functional>

#include "otpp/actors/events/event.hpp"

namespace otpp::events {

/// Receives every event emitted after it subscribed.
using handler = std::function<void(const record&)>;

/// Identifies one subscription; never 0.
using subscription = uint64_t;

/// Calls `h` with every event from now on, process-wide (like a `telemetry`
/// handler or an OTP `logger` handler). It runs synchronously on the thread
/// that emits (often an actor's scheduler thread, which waits meanwhile),
/// possibly on several threads at once: it must be thread-safe and quick and
/// hand slow work to another thread, as otpp's log sink does. An exception
/// escaping it is dropped.
subscription subscribe(handler h);

/// Ends a subscription; false if `id` is unknown. No call starts after it
/// returns, but a call already running on another thread may still finish
/// (the handler object lives until then: keep what it uses alive through it).
bool unsubscribe(subscription id);

/// Whether any handler is subscribed: emitters may skip building an event.
bool has_subscribers();

/// Delivers `value` to every subscriber, stamped with the time and its level.
/// Costs two atomic loads when nobody subscribed (the process log, see
/// log_sink.hpp, is a subscriber unless disabled).
void emit(event value);

} // namespace otpp::events
