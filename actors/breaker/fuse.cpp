#include "otpp/actors/breaker/fuse.hpp"

#include <mutex>

#include "otpp/actors/breaker/circuit_breaker.hpp"

namespace otpp::breaker {

caf::error validate(const fuse_config& c) {
  auto invalid = [&](const std::string& what) {
    return make_error(breaker_errc::invalid_argument, "fuse '" + c.name + "': " + what);
  };
  if (c.name.empty())
    return invalid("name must not be empty");
  if (c.within.count() < 1)
    return invalid("within must be >= 1 ms, got " + std::to_string(c.within.count()));
  if (c.heal_after.count() < 1)
    return invalid("heal_after must be >= 1 ms, got " + std::to_string(c.heal_after.count()));
  return {};
}

caf::expected<std::shared_ptr<fuse>> fuse::make(fuse_config config, clock now) {
  if (auto err = validate(config))
    return err;
  return std::make_shared<fuse>(std::move(config), std::move(now));
}

void fuse::heal_if_due(int64_t now) {
  if (blown_ && now >= heals_at_) {
    blown_ = false;
    melts_.clear();
  }
}

bool fuse::ask() {
  std::lock_guard<spin_lock> guard{lock_};
  if (disabled_)
    return false;
  heal_if_due(now_());
  return !blown_;
}

void fuse::melt() {
  std::lock_guard<spin_lock> guard{lock_};
  auto now = now_();
  heal_if_due(now);
  if (blown_ || disabled_)
    return; // melts while blown do not extend it
  while (!melts_.empty() && melts_.front() <= now - config_.within.count())
    melts_.pop_front();
  melts_.push_back(now);
  if (melts_.size() > config_.max_melts) {
    blown_ = true;
    heals_at_ = now + config_.heal_after.count();
  }
}

void fuse::reset() {
  std::lock_guard<spin_lock> guard{lock_};
  blown_ = false;
  melts_.clear();
}

void fuse::disable() {
  std::lock_guard<spin_lock> guard{lock_};
  disabled_ = true;
}

void fuse::enable() {
  std::lock_guard<spin_lock> guard{lock_};
  disabled_ = false;
  blown_ = false;
  melts_.clear();
}

} // namespace otpp::breaker
