#pragma once

#include <atomic>
#include <string>

namespace otpp::test {

/// Live workers of the kind "test.counted" (started minus ended).
extern std::atomic<int> counted_live;

/// Registers "test.counted": an echo worker counted in `counted_live`.
void register_counted_kind();

/// Registers a kind named `kind` whose first `failures` starts fail (with
/// an error), then start echo workers.
void register_failing_kind(const std::string& kind, int failures);

} // namespace otpp::test
