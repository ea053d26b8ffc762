#include "supervision/system_setup.hpp"

#include "supervision/errors.hpp"

namespace otpp {

void add_otpp_types(caf::actor_system_config& cfg) {
  cfg.add_error_category(supervision::errc_category,
                         [](uint8_t code, caf::atom_value category, const caf::message& ctx) {
                           return supervision::describe(caf::error{code, category, ctx});
                         });
}

} // namespace otpp
