#include "otpp/supervision/restart_intensity.hpp"

namespace otpp::supervision {

restart_intensity::restart_intensity(int intensity, std::chrono::milliseconds period)
  : intensity_(intensity), period_(period) {}

bool restart_intensity::add_restart(time_point now) {
  restarts_.push_back(now);
  auto threshold = now - period_;
  while (!restarts_.empty() && restarts_.front() < threshold)
    restarts_.pop_front();
  return static_cast<long long>(restarts_.size()) <= intensity_;
}

void restart_intensity::set_limits(int intensity, std::chrono::milliseconds period) {
  intensity_ = intensity;
  period_ = period;
}

std::size_t restart_intensity::restarts_in_window() const {
  return restarts_.size();
}

} // namespace otpp::supervision
