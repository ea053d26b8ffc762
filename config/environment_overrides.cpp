#include <algorithm>
#include <cctype>

#include "otpp/config/sections.hpp"

extern char** environ;

namespace otpp::config {

namespace {

constexpr const char* env_prefix = "OTPP__";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

} // namespace

std::map<std::string, std::string> apply_overrides(toml::table& root, const environment& env,
                                                   std::vector<problem>& problems) {
  std::map<std::string, std::string> applied;
  for (auto& [variable, value] : env) {
    if (variable.rfind(env_prefix, 0) != 0)
      continue;
    std::vector<std::string> keys;
    std::string rest = variable.substr(std::string{env_prefix}.size());
    for (std::size_t start = 0;;) {
      auto end = rest.find("__", start);
      keys.push_back(lower(rest.substr(start, end - start)));
      if (end == std::string::npos)
        break;
      start = end + 2;
    }
    std::string path;
    for (auto& k : keys)
      path = join(path, k);
    if (std::any_of(keys.begin(), keys.end(), [](auto& k) { return k.empty(); }) || keys.size() < 2) {
      problems.push_back({"env:" + variable, 0, 0, path, "expected OTPP__SECTION__KEY=value"});
      continue;
    }
    toml::table* at = &root;
    bool ok = true;
    for (std::size_t i = 0; i + 1 < keys.size() && ok; ++i) {
      auto* next = at->get(keys[i]);
      if (!next)
        next = at->insert_or_assign(keys[i], toml::table{}).first->second.as_table();
      ok = next && next->is_table();
      at = ok ? next->as_table() : nullptr;
    }
    if (!ok) {
      problems.push_back({"env:" + variable, 0, 0, path, "is not a table in the file"});
      continue;
    }
    // The value as TOML (numbers, booleans, quoted strings), else as plain text.
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + value);
    } catch (const toml::parse_error&) {
      parsed.insert_or_assign("v", value);
    }
    at->insert_or_assign(keys.back(), *parsed.get("v"));
    applied[path] = variable;
  }
  return applied;
}

environment process_environment() {
  environment env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry{*e};
    if (entry.rfind(env_prefix, 0) != 0)
      continue;
    auto eq = entry.find('=');
    if (eq != std::string::npos)
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

} // namespace otpp::config
