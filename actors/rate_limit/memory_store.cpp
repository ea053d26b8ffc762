#include "otpp/actors/rate_limit/memory_store.hpp"

#include <random>

namespace otpp::rate_limit::detail {

uint64_t random_seed() {
  std::random_device random;
  return (uint64_t{random()} << 32 | random()) | 1;
}

} // namespace otpp::rate_limit::detail
