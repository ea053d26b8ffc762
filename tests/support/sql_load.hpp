#pragma once

#include <string>

#include <caf/actor_system.hpp>

#include "otpp/actors/pool/pool.hpp"

namespace otpp::test {

/// 1000 audited updates from 8 threads (125 each) through a pool of SQL
/// workers: each a transaction opened with `begin` ("BEGIN", or SQLite's
/// "BEGIN IMMEDIATE") that upserts one of 10 keys in `config (key, value)`
/// and adds its row to `audit (key, value)`, sent as messages to the worker.
/// Returns how many were reported successful.
int audited_updates(caf::actor_system& sys, const pool::pool_ref& pool, const std::string& begin);

} // namespace otpp::test
