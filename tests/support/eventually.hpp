#pragma once

#include <chrono>
#include <thread>

namespace otpp::test {

/// Waits for an event in a threaded test: polls `ready` every millisecond
/// (a pause, not a spin, so the threads under test get the CPU) until it
/// holds or `bound` has passed; returns its last answer.
template <class F>
bool eventually(F ready, std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  for (auto deadline = std::chrono::steady_clock::now() + bound; std::chrono::steady_clock::now() < deadline;)
    if (ready())
      return true;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return ready();
}

} // namespace otpp::test
