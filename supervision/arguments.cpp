#include "otpp/supervision/arguments.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace otpp::supervision {

std::string to_string(argument_type x) {
  switch (x) {
    case argument_type::string:
      return "string";
    case argument_type::integer:
      return "integer";
    case argument_type::number:
      return "number";
    case argument_type::boolean:
      return "boolean";
  }
  return "?";
}

std::string to_string(const argument_value& x) {
  std::ostringstream out;
  if (auto* s = std::get_if<std::string>(&x)) {
    out << '"';
    for (char c : *s)
      if (c == '"' || c == '\\')
        out << '\\' << c;
      else if (static_cast<unsigned char>(c) < 0x20)
        out << "\\u00" << "0123456789abcdef"[(c >> 4) & 0xf] << "0123456789abcdef"[c & 0xf];
      else
        out << c;
    out << '"';
  } else if (auto* i = std::get_if<int64_t>(&x)) {
    out << *i;
  } else if (auto* d = std::get_if<double>(&x)) {
    out << *d;
  } else {
    out << (std::get<bool>(x) ? "true" : "false");
  }
  return out.str();
}

namespace {

argument_spec make(std::string name, argument_type type) {
  argument_spec spec;
  spec.name = std::move(name);
  spec.type = type;
  return spec;
}

std::string range_text(const argument_spec& spec) {
  std::ostringstream out;
  out << "[" << spec.min << ", " << spec.max << "]";
  if (spec.type == argument_type::integer)
    out.str("[" + std::to_string(static_cast<int64_t>(spec.min)) + ", "
            + std::to_string(static_cast<int64_t>(spec.max)) + "]");
  return out.str();
}

// Why `value` does not fit `spec`, or "" when it does; `converted` gets the value as declared.
std::string mismatch(const argument_spec& spec, const argument_value& value, argument_value& converted) {
  converted = value;
  switch (spec.type) {
    case argument_type::string: {
      auto* s = std::get_if<std::string>(&value);
      if (!s)
        return "must be a string, got " + to_string(value);
      if (!spec.allow_empty && s->empty())
        return "must not be empty";
      if (!spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(), *s) == spec.choices.end()) {
        std::string list;
        for (auto& c : spec.choices)
          list += (list.empty() ? "" : ", ") + c;
        return "must be one of " + list + ", got " + to_string(value);
      }
      return {};
    }
    case argument_type::integer: {
      auto* i = std::get_if<int64_t>(&value);
      if (!i)
        return "must be an integer, got " + to_string(value);
      if (static_cast<double>(*i) < spec.min || static_cast<double>(*i) > spec.max)
        return "must be in " + range_text(spec) + ", got " + std::to_string(*i);
      return {};
    }
    case argument_type::number: {
      double d = 0;
      if (auto* i = std::get_if<int64_t>(&value))
        d = static_cast<double>(*i);
      else if (auto* f = std::get_if<double>(&value))
        d = *f;
      else
        return "must be a number, got " + to_string(value);
      if (!std::isfinite(d) || d < spec.min || d > spec.max)
        return "must be in " + range_text(spec) + ", got " + to_string(value);
      converted = d;
      return {};
    }
    case argument_type::boolean:
      if (!std::holds_alternative<bool>(value))
        return "must be true or false, got " + to_string(value);
      return {};
  }
  return {};
}

} // namespace

argument_spec string_arg(std::string name) {
  return make(std::move(name), argument_type::string);
}

argument_spec integer_arg(std::string name, int64_t min, int64_t max) {
  auto spec = make(std::move(name), argument_type::integer);
  spec.min = static_cast<double>(min);
  spec.max = static_cast<double>(max);
  return spec;
}

argument_spec number_arg(std::string name, double min, double max) {
  auto spec = make(std::move(name), argument_type::number);
  spec.min = min;
  spec.max = max;
  return spec;
}

argument_spec boolean_arg(std::string name) {
  return make(std::move(name), argument_type::boolean);
}

argument_spec choice_arg(std::string name, std::vector<std::string> choices) {
  auto spec = make(std::move(name), argument_type::string);
  spec.choices = std::move(choices);
  return spec;
}

const argument_value& arguments::at(const std::string& name) const {
  auto i = values_.find(name);
  if (i == values_.end())
    throw std::invalid_argument("argument '" + name + "' is not set");
  return i->second;
}

const std::string& arguments::get_string(const std::string& name) const {
  if (auto* s = std::get_if<std::string>(&at(name)))
    return *s;
  throw std::invalid_argument("argument '" + name + "' is not a string");
}

int64_t arguments::get_int(const std::string& name) const {
  if (auto* i = std::get_if<int64_t>(&at(name)))
    return *i;
  throw std::invalid_argument("argument '" + name + "' is not an integer");
}

double arguments::get_number(const std::string& name) const {
  auto& v = at(name);
  if (auto* d = std::get_if<double>(&v))
    return *d;
  if (auto* i = std::get_if<int64_t>(&v))
    return static_cast<double>(*i);
  throw std::invalid_argument("argument '" + name + "' is not a number");
}

bool arguments::get_bool(const std::string& name) const {
  if (auto* b = std::get_if<bool>(&at(name)))
    return *b;
  throw std::invalid_argument("argument '" + name + "' is not a boolean");
}

std::string arguments::get_string_or(const std::string& name, const std::string& fallback) const {
  return has(name) ? get_string(name) : fallback;
}

int64_t arguments::get_int_or(const std::string& name, int64_t fallback) const {
  return has(name) ? get_int(name) : fallback;
}

std::string arguments::to_string() const {
  std::string out = "{";
  for (auto& [name, value] : values_)
    out += (out.size() > 1 ? ", " : "") + name + " = " + supervision::to_string(value);
  return out + "}";
}

std::vector<argument_problem> check_arguments(const std::vector<argument_spec>& specs,
                                              const std::map<std::string, argument_value>& given, arguments& out) {
  std::vector<argument_problem> problems;
  std::vector<std::string> names;
  for (auto& spec : specs)
    names.push_back(spec.name);
  for (auto& [name, value] : given) {
    (void) value;
    if (std::find(names.begin(), names.end(), name) != names.end())
      continue;
    auto closest = closest_name(name, names);
    problems.push_back({name, "unknown argument" + (closest.empty() ? std::string{} : " (did you mean '" + closest + "'?)")});
  }
  std::map<std::string, argument_value> values;
  for (auto& spec : specs) {
    auto i = given.find(spec.name);
    if (i == given.end()) {
      if (spec.is_required)
        problems.push_back({spec.name, "missing (a required " + to_string(spec.type) + ")"});
      else if (spec.default_value)
        values[spec.name] = *spec.default_value;
      continue;
    }
    argument_value converted;
    auto why = mismatch(spec, i->second, converted);
    if (why.empty() && spec.validator)
      why = spec.validator(converted);
    if (!why.empty())
      problems.push_back({spec.name, why});
    else
      values[spec.name] = std::move(converted);
  }
  if (problems.empty())
    out = arguments{std::move(values)};
  return problems;
}

std::string closest_name(const std::string& name, const std::vector<std::string>& known) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
      row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      auto diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        auto up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = up;
      }
    }
    return row[b.size()];
  };
  std::string closest;
  std::size_t best = 3;
  for (auto& k : known)
    if (auto d = distance(name, k); d < best) {
      best = d;
      closest = k;
    }
  return closest;
}

} // namespace otpp::supervision
