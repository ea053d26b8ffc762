#include "apps/bench/common.hpp"

#include <algorithm>
#include <ctime>
#include <sstream>

#include <nlohmann/json.hpp>

#include "otpp/actors/events/printable.hpp"
#include "otpp/supervision/system_setup.hpp"

namespace otpp::bench {

std::string json_line(const std::string& bench, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::ostringstream out;
  out << "{\"bench\":" << quoted(bench);
  for (const auto& [key, value] : fields)
    out << ",\"" << key << "\":" << value;
  out << "}";
  return out.str();
}

std::string num(double x) {
  std::ostringstream out;
  out.precision(3);
  out << std::fixed << x;
  return out.str();
}

std::string quoted(const std::string& text) {
  return nlohmann::json(events::printable(text)).dump();
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto index = static_cast<std::size_t>(p * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(index, xs.size() - 1)];
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

scheduler_profile otpp_profile() {
  return {"otpp", [](caf::actor_system_config& cfg) { otpp::apply_scheduler_profile(cfg); }};
}

std::vector<scheduler_profile> profiles() {
  return {{"caf-default", [](caf::actor_system_config&) {}}, otpp_profile()};
}

bench_config::bench_config(const scheduler_profile& profile) {
  set("logger.console", caf::atom("none"));
  otpp::add_otpp_types(*this);
  profile.apply(*this);
}

} // namespace otpp::bench
