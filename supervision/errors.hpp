#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace otpp::supervision {

/// Errors of the supervision layer. They render by name ("not_found: child db")
/// in any actor system configured with `add_otpp_types`.
enum class errc : uint8_t {
  invalid_flags = 1,   ///< supervisor flags out of range
  invalid_spec,        ///< a child spec field out of range
  duplicate_child,     ///< two child specs share an id
  start_failed,        ///< a child failed to start; the text names the child
  not_found,           ///< no child with that id or handle
  running,             ///< the operation needs a terminated child
  restarting,          ///< the child waits for a restart
  already_present,     ///< start_child: a terminated child with that id exists
  already_started,     ///< start_child: a running child with that id exists (`already_started_child`)
  not_allowed,         ///< the operation does not apply to this strategy
  exception,           ///< an exception escaped a handler; the text is its what()
  shutdown,            ///< orderly shutdown carrying why (OTP's {shutdown, Term})
  name_taken,          ///< the registered name belongs to another live actor
};

/// The category under which `errc` values travel inside `caf::error`.
constexpr caf::atom_value errc_category = caf::atom("otpp_sup");

/// The enumerator's name, e.g. "not_found".
std::string to_string(errc code);

/// A `caf::error` of any otpp category; `text` (if any) says what it concerns.
caf::error make_categorized_error(caf::atom_value category, uint8_t code, std::string text);

/// Builds a `caf::error` of category `errc_category`; `text` says what it concerns.
caf::error make_error(errc code, std::string text = {});

/// True if `reason` is of category `errc_category` with this code (false for no error).
bool is(const caf::error& reason, errc code);

/// OTP's `{already_started, Pid}`: an `errc::already_started` error whose
/// context is the text and then the running child's handle.
caf::error make_already_started(std::string text, caf::actor running);

/// The running child's handle an `errc::already_started` error carries (from
/// `blocking::start_child` or the `(start_child_atom, child_spec)` request);
/// an invalid handle for any other error.
caf::actor already_started_child(const caf::error& reason);

/// Renders a reason as an OTP user reads it: "normal", "shutdown", "killed",
/// "exception: boom", "start_failed: child db: ...". Works without an actor system.
std::string describe(const caf::error& reason);

/// Lets `describe` (and actor systems set up by `add_otpp_types`) render the
/// codes of another otpp error category by name.
void add_error_names(caf::atom_value category, std::string (*name_of)(uint8_t code));

/// The categories known to `describe`, this one included.
std::vector<caf::atom_value> error_categories();

/// True for the reasons OTP treats as normal for a transient child:
/// normal, shutdown (CAF's user_shutdown) and `errc::shutdown` with any text.
bool is_normal_exit(const caf::error& reason);

} // namespace otpp::supervision
