#pragma once

#include <cstddef>

#include "otpp/actors/pool/pool_book.hpp"

namespace otpp::test {

/// A book over plain numbers as workers.
using int_book = pool::pool_book<int>;

/// A book of `size` idle workers numbered 1..size, the first at the head.
inline int_book with_idle(std::size_t size, std::size_t max_overflow,
                          pool::pool_strategy strategy = pool::pool_strategy::lifo) {
  int_book b{size, max_overflow, strategy};
  for (int w = 1; w <= static_cast<int>(size); ++w)
    b.add_initial(w);
  return b;
}

} // namespace otpp::test
