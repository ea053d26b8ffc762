#include "tests/support/event_capture.hpp"

namespace otpp::test {

event_capture::event_capture() : state_(std::make_shared<state>()) {
  id_ = events::subscribe([st = state_](const events::record& r) {
    {
      std::lock_guard<std::mutex> guard{st->mutex};
      st->records.push_back(r);
    }
    st->changed.notify_all();
  });
}

event_capture::~event_capture() {
  events::unsubscribe(id_);
}

std::vector<events::record> event_capture::records() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->records;
}

} // namespace otpp::test
