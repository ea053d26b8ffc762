#include <algorithm>
#include <cctype>

#include "otpp/config/sections.hpp"
#include "otpp/config/shape_check.hpp"

extern char** environ;

namespace otpp::config {

namespace {

constexpr const char* env_prefix = "OTPP__";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// An override may set keys of the components the file defines (and any key
// of the single sections); why `keys` names a component the file lacks, or "".
std::string unknown_component(const toml::table& root, const std::vector<std::string>& keys) {
  static const std::vector<std::string> collections{"supervisors", "children", "rate_limiters", "pools", "breakers"};
  if (keys.size() < 3 || std::find(collections.begin(), collections.end(), keys[0]) == collections.end())
    return {};
  auto* section = root.get(keys[0]) ? root.get(keys[0])->as_table() : nullptr;
  if (section && section->get(keys[1]))
    return {};
  std::vector<std::string> defined;
  if (section)
    for (auto&& [name, value] : *section) {
      (void) value;
      defined.emplace_back(name.str());
    }
  auto closest = supervision::closest_name(keys[1], defined);
  return "names '" + keys[1] + "', which the file does not define in [" + keys[0] + "]"
         + (closest.empty() ? std::string{} : " (did you mean '" + closest + "'?)")
         + "; overrides change components, they do not add them";
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
    if (auto why = unknown_component(root, keys); !why.empty()) {
      problems.push_back({"env:" + variable, 0, 0, path, why});
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
    if (auto bad_shape = check_shape(value, "env:" + variable)) {
      problems.push_back({"env:" + variable, 0, 0, path, bad_shape->message});
      continue;
    }
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
