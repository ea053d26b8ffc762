#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace otpp::test {

/// Live workers of the kind "test.counted" (started minus ended).
extern std::atomic<int> counted_live;

/// Registers "test.counted": an echo worker counted in `counted_live`.
void register_counted_kind();

/// Registers a kind named `kind` whose first `failures` starts fail (with
/// an error), then start echo workers.
void register_failing_kind(const std::string& kind, int failures);

/// Registers "test.tagged": its integer argument `tag` (default 0) is what
/// its workers answer to any int; live workers are counted per tag, from
/// their spawn to their end.
void register_tagged_kind();

/// Live workers of "test.tagged" started with `tag`.
int tagged_live(int64_t tag);

/// Live workers of "test.tagged", whatever their tag (one reading of all).
int tagged_live_all();

} // namespace otpp::test
