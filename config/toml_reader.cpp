#include "otpp/config/toml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "otpp/supervision/errors.hpp"

namespace otpp::config {

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string text_of(const caf::error& err) {
  auto text = supervision::describe(err);
  auto prefix = supervision::to_string(supervision::errc::invalid_spec) + ": ";
  return text.rfind(prefix, 0) == 0 ? text.substr(prefix.size()) : text;
}

void toml_reader::add(const toml::node* at, const std::string& path, std::string message) {
  add(at ? &at->source() : nullptr, path, std::move(message));
}

void toml_reader::add(const toml::source_region* at, const std::string& path, std::string message) {
  problem p{source_, 0, 0, path, std::move(message)};
  for (auto& [prefix, variable] : overridden_)
    if (path == prefix || path.rfind(prefix + ".", 0) == 0) {
      p.source = "env:" + variable;
      at = nullptr;
    }
  if (at) {
    p.line = static_cast<int>(at->begin.line);
    p.column = static_cast<int>(at->begin.column);
  }
  problems.push_back(std::move(p));
}

void toml_reader::only(const toml::table& t, const std::string& path, const std::vector<std::string>& allowed) {
  for (auto&& [key, value] : t) {
    (void) value;
    std::string k{key.str()};
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end())
      continue;
    std::string closest = supervision::closest_name(k, allowed);
    add(&key.source(), join(path, k),
        "unknown key" + (closest.empty() ? std::string{} : " (did you mean '" + closest + "'?)"));
  }
}

const toml::table* toml_reader::table(const toml::table& t, const std::string& path, const char* key) {
  auto* n = t.get(key);
  if (!n)
    return nullptr;
  if (auto* sub = n->as_table())
    return sub;
  add(n, join(path, key), "must be a table");
  return nullptr;
}

std::optional<int64_t> toml_reader::integer(const toml::table& t, const std::string& path, const char* key, int64_t low,
                               int64_t high) {
  auto* n = t.get(key);
  if (!n)
    return std::nullopt;
  auto v = n->value_exact<int64_t>();
  if (!v) {
    add(n, join(path, key), "must be an integer");
    return std::nullopt;
  }
  if (*v < low || *v > high) {
    add(n, join(path, key), "must be in [" + std::to_string(low) + ", " + std::to_string(high) + "], got "
                              + std::to_string(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> toml_reader::number(const toml::table& t, const std::string& path, const char* key, double low,
                             double high, bool low_open) {
  auto* n = t.get(key);
  if (!n)
    return std::nullopt;
  auto v = n->value<double>();
  if (!v || !(n->is_integer() || n->is_floating_point())) {
    add(n, join(path, key), "must be a number");
    return std::nullopt;
  }
  if (!((low_open ? *v > low : *v >= low) && *v <= high)) {
    std::ostringstream text;
    text << "must be in " << (low_open ? "(" : "[") << low << ", " << high << "], got " << *v;
    add(n, join(path, key), text.str());
    return std::nullopt;
  }
  return v;
}

std::optional<bool> toml_reader::boolean(const toml::table& t, const std::string& path, const char* key) {
  auto* n = t.get(key);
  if (!n)
    return std::nullopt;
  auto v = n->value_exact<bool>();
  if (!v)
    add(n, join(path, key), "must be true or false");
  return v;
}

std::optional<std::string> toml_reader::text(const toml::table& t, const std::string& path, const char* key) {
  auto* n = t.get(key);
  if (!n)
    return std::nullopt;
  auto v = n->value_exact<std::string>();
  if (!v)
    add(n, join(path, key), "must be a string");
  return v;
}

std::optional<std::string> toml_reader::choice(const toml::table& t, const std::string& path, const char* key,
                                  std::initializer_list<const char*> choices) {
  auto v = text(t, path, key);
  if (!v)
    return std::nullopt;
  if (std::any_of(choices.begin(), choices.end(), [&](const char* c) { return *v == c; }))
    return v;
  std::string list;
  for (const char* c : choices)
    list += (list.empty() ? "" : ", ") + std::string{c};
  add(t.get(key), join(path, key), "must be one of " + list + ", got '" + *v + "'");
  return std::nullopt;
}

void toml_reader::check(const caf::error& err, const toml::table& t, const std::string& path) {
  if (err)
    add(&t, path, supervision::describe(err));
}

std::optional<supervision::arguments> toml_reader::kind_arguments(const toml::table* args, const toml::node* owner,
                                                                  const std::string& path,
                                                                  const std::vector<supervision::argument_spec>& specs) {
  std::map<std::string, supervision::argument_value> given;
  bool typed = true;
  for (auto&& [key, value] : args ? *args : toml::table{}) {
    std::string k{key.str()};
    if (auto s = value.value_exact<std::string>())
      given[k] = *s;
    else if (auto i = value.value_exact<int64_t>())
      given[k] = *i;
    else if (auto d = value.value_exact<double>())
      given[k] = *d;
    else if (auto b = value.value_exact<bool>())
      given[k] = *b;
    else {
      add(&value, join(path, k), "must be a string, number or boolean");
      typed = false;
    }
  }
  supervision::arguments checked;
  auto found = supervision::check_arguments(specs, given, checked);
  for (auto& p : found) {
    const toml::node* at = args ? args->get(p.name) : nullptr;
    if (at && p.message.rfind("unknown argument", 0) == 0) {
      add(&args->find(p.name)->first.source(), join(path, p.name), p.message);
      continue;
    }
    add(at ? at : args ? static_cast<const toml::node*>(args) : owner, join(path, p.name), p.message);
  }
  if (!found.empty() || !typed)
    return std::nullopt;
  return checked;
}

std::string invalid_name(const std::string& name) {
  auto allowed = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; };
  if (!name.empty() && name.size() <= max_name_length && std::all_of(name.begin(), name.end(), allowed))
    return {};
  return "a name must be 1 to " + std::to_string(max_name_length)
         + " letters, digits, '_', '-' or '.'";
}

void each_named(toml_reader& r, const toml::table& root, const char* section,
                const std::function<void(const std::string&, const toml::table&, const std::string&)>& fn) {
  auto* all = r.table(root, "", section);
  if (!all)
    return;
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (auto&& [key, value] : *all)
    entries.emplace_back(std::string{key.str()}, &value);
  auto position = [](const toml::node* n) { return std::pair{n->source().begin.line, n->source().begin.column}; };
  std::stable_sort(entries.begin(), entries.end(),
                   [&](auto& a, auto& b) { return position(a.second) < position(b.second); });
  for (auto& [name, value] : entries) {
    auto path = std::string{section} + "." + name;
    if (auto why = invalid_name(name); !why.empty())
      r.add(&all->find(name)->first.source(), path, why);
    else if (auto* t = value->as_table())
      fn(name, *t, path);
    else
      r.add(value, path, "must be a table");
  }
}

} // namespace otpp::config
