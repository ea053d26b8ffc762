#include "otpp/supervision/exceptions.hpp"

#include <exception>

#include "otpp/supervision/errors.hpp"

namespace otpp::supervision {

void keep_exception_text(caf::scheduled_actor* self) {
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
    try {
      std::rethrow_exception(eptr);
    } catch (const std::exception& x) {
      return make_error(errc::exception, x.what());
    } catch (...) {
      return make_error(errc::exception, "unknown exception (not derived from std::exception)");
    }
  });
}

} // namespace otpp::supervision
