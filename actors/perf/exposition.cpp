#include "otpp/actors/events/printable.hpp"
#include "otpp/actors/perf/registry.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace otpp::perf {

namespace {

// The shortest text that reads back as `x` ("1e-06", "0.25", "3"); Prometheus's
// own spelling of NaN and the infinities.
std::string number(double x) {
  if (std::isnan(x))
    return "NaN";
  if (std::isinf(x))
    return x > 0 ? "+Inf" : "-Inf";
  if (x == std::trunc(x) && std::fabs(x) < 9007199254740992.0) // an integer a double holds exactly
    return std::to_string(static_cast<int64_t>(x));
  char text[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, x);
    if (std::strtod(text, nullptr) == x)
      break;
  }
  return text;
}

std::string escaped_help(const std::string& help) {
  std::string out;
  for (char c : events::printable(help)) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escaped_label_value(const std::string& value) {
  std::string out;
  for (char c : events::printable(value)) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// `{a="x",b="y"}` with `extra` (such as `le="0.5"`) last, or "" without labels.
std::string label_set(const family& f, const label_values& values, const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i)
    out += (out.empty() ? "" : ",") + f.label_names[i] + "=\"" + escaped_label_value(values[i]) + "\"";
  if (!extra.empty())
    out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? out : "{" + out + "}";
}

nlohmann::json labels_json(const family& f, const label_values& values) {
  auto out = nlohmann::json::object();
  for (std::size_t i = 0; i < values.size(); ++i)
    out[f.label_names[i]] = events::printable(values[i]);
  return out;
}

nlohmann::json value_json(double x) {
  if (x == std::trunc(x) && std::fabs(x) < 9007199254740992.0)
    return static_cast<int64_t>(x);
  return x; // NaN and the infinities dump as null
}

} // namespace

std::string snapshot::to_prometheus() const {
  std::string out;
  const auto& bounds = histogram_bounds_seconds();
  for (auto& f : families) {
    auto& name = f.info.name;
    out += "# HELP " + name + " " + escaped_help(f.info.help) + "\n";
    out += "# TYPE " + name + " " + to_string(f.info.type) + "\n";
    for (auto& s : f.series) {
      if (f.info.type != metric_type::histogram) {
        out += name + label_set(f.info, s.labels) + " " + number(s.value) + "\n";
        continue;
      }
      for (std::size_t i = 0; i < bounds.size() && i < s.buckets.size(); ++i)
        out += name + "_bucket" + label_set(f.info, s.labels, "le=\"" + number(bounds[i]) + "\"") + " "
               + std::to_string(s.buckets[i]) + "\n";
      out += name + "_bucket" + label_set(f.info, s.labels, "le=\"+Inf\"") + " " + std::to_string(s.count) + "\n";
      out += name + "_sum" + label_set(f.info, s.labels) + " " + number(s.sum_seconds) + "\n";
      out += name + "_count" + label_set(f.info, s.labels) + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

std::string snapshot::to_json() const {
  auto out = nlohmann::json::object();
  const auto& bounds = histogram_bounds_seconds();
  for (auto& f : families) {
    auto series = nlohmann::json::array();
    for (auto& s : f.series) {
      auto x = nlohmann::json::object();
      x["labels"] = labels_json(f.info, s.labels);
      if (f.info.type != metric_type::histogram) {
        x["value"] = value_json(s.value);
      } else {
        x["count"] = s.count;
        x["sum_seconds"] = s.sum_seconds;
        auto buckets = nlohmann::json::object();
        for (std::size_t i = 0; i < bounds.size() && i < s.buckets.size(); ++i)
          buckets[number(bounds[i])] = s.buckets[i];
        x["buckets"] = std::move(buckets);
      }
      series.push_back(std::move(x));
    }
    out[f.info.name] = {{"type", to_string(f.info.type)}, {"help", events::printable(f.info.help)},
                        {"series", std::move(series)}};
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace otpp::perf
