#pragma once

// Detail of the loader, not installed: one reader per part of the file.

#include <toml++/toml.h>

#include "otpp/config/node_config.hpp"
#include "otpp/config/toml_reader.hpp"

namespace otpp::config {

/// `[node]`, `[logging]`, `[http]` and `[demo]`.
void read_node(toml_reader& r, const toml::table& root, node_config& c);

/// `[rate_limiting]` and `[rate_limiters.*]`.
void read_rate_limiting(toml_reader& r, const toml::table& root, node_config& c);
void read_limiters(toml_reader& r, const toml::table& root, node_config& c);

/// `[pools.*]`, with each worker kind's arguments checked.
void read_pools(toml_reader& r, const toml::table& root, node_config& c);

/// `[breakers.*]` and `[memory]`.
void read_breakers(toml_reader& r, const toml::table& root, node_config& c);
void read_memory(toml_reader& r, const toml::table& root, node_config& c);

/// `[supervisor]`, `[supervisors.*]` and `[children.*]`: the tree's shape,
/// placement of every component, and names unique across the tree. Last.
void read_tree(toml_reader& r, const toml::table& root, node_config& c);

/// `[cluster]`.
void read_cluster(toml_reader& r, const toml::table& root, node_config& c);

/// Applies OTPP__SECTION__KEY=value overrides to `root`; returns dotted path -> variable.
std::map<std::string, std::string> apply_overrides(toml::table& root, const environment& env,
                                                   std::vector<problem>& problems);

} // namespace otpp::config
