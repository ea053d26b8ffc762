#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "otpp/actors/redis/connection.hpp"

namespace otpp::redis {

/// Asks the sentinels in turn for the address of master `name`
/// (`SENTINEL get-master-addr-by-name`), all within `deadline`; the first
/// answer wins. `unavailable` naming each sentinel's failure otherwise.
caf::expected<endpoint> ask_sentinels(const std::vector<endpoint>& sentinels, const std::string& name,
                                      std::chrono::steady_clock::time_point deadline);

/// None when the server on `c` answers `ROLE` as a master; `unavailable` otherwise.
caf::error check_master(connection& c);

} // namespace otpp::redis
