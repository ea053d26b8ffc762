#include "otpp/supervision/child_spec.hpp"

#include <unordered_set>

#include "otpp/supervision/errors.hpp"

namespace otpp::supervision {

shutdown_policy effective_shutdown(const child_spec& spec) {
  if (spec.shutdown)
    return *spec.shutdown;
  return spec.type == child_type::supervisor ? shutdown_policy::infinity()
                                             : shutdown_policy::after(std::chrono::milliseconds{5000});
}

std::string to_string(restart_type x) {
  switch (x) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "?";
}

std::string to_string(child_type x) {
  return x == child_type::worker ? "worker" : "supervisor";
}

std::string to_string(strategy x) {
  switch (x) {
    case strategy::one_for_one: return "one_for_one";
    case strategy::one_for_all: return "one_for_all";
    case strategy::rest_for_one: return "rest_for_one";
    case strategy::simple_one_for_one: return "simple_one_for_one";
  }
  return "?";
}

std::string to_string(auto_shutdown x) {
  switch (x) {
    case auto_shutdown::never: return "never";
    case auto_shutdown::any_significant: return "any_significant";
    case auto_shutdown::all_significant: return "all_significant";
  }
  return "?";
}

namespace {

// Whether a value cast into an enum is one of its enumerators.
bool known(strategy x) {
  return x == strategy::one_for_one || x == strategy::one_for_all || x == strategy::rest_for_one
         || x == strategy::simple_one_for_one;
}

bool known(auto_shutdown x) {
  return x == auto_shutdown::never || x == auto_shutdown::any_significant || x == auto_shutdown::all_significant;
}

bool known(restart_type x) {
  return x == restart_type::permanent || x == restart_type::transient || x == restart_type::temporary;
}

bool known(child_type x) {
  return x == child_type::worker || x == child_type::supervisor;
}

bool known(shutdown_policy::kind x) {
  using k = shutdown_policy::kind;
  return x == k::brutal_kill || x == k::timeout || x == k::infinity;
}

// An unknown enumerator's number, for messages.
template <class Enum>
std::string number(Enum x) {
  return std::to_string(static_cast<long long>(x));
}

} // namespace

caf::error validate(const supervisor_flags& flags) {
  if (!known(flags.strategy))
    return make_error(errc::invalid_flags, "strategy must be one_for_one, one_for_all, rest_for_one or "
                                           "simple_one_for_one, got " + number(flags.strategy));
  if (!known(flags.auto_shutdown))
    return make_error(errc::invalid_flags, "auto_shutdown must be never, any_significant or all_significant, got "
                                             + number(flags.auto_shutdown));
  if (flags.intensity < 0)
    return make_error(errc::invalid_flags,
                      "intensity must be >= 0, got " + std::to_string(flags.intensity));
  if (flags.period.count() <= 0 || flags.period > max_period)
    return make_error(errc::invalid_flags, "period must be in [1, " + std::to_string(max_period.count())
                                             + "] ms, got " + std::to_string(flags.period.count()));
  if (flags.strategy == strategy::simple_one_for_one && flags.auto_shutdown != auto_shutdown::never)
    return make_error(errc::invalid_flags, "auto_shutdown must be never for simple_one_for_one, got "
                                             + to_string(flags.auto_shutdown));
  return {};
}

namespace {

caf::error invalid(const child_spec& spec, const std::string& what) {
  return make_error(errc::invalid_spec, "child '" + spec.id + "': " + what);
}

} // namespace

caf::error validate(const child_spec& spec, const supervisor_flags& flags) {
  if (spec.id.empty())
    return invalid(spec, "id must not be empty");
  if (!spec.start)
    return invalid(spec, "start function is missing");
  if (!known(spec.restart))
    return invalid(spec, "restart must be permanent, transient or temporary, got " + number(spec.restart));
  if (!known(spec.type))
    return invalid(spec, "type must be worker or supervisor, got " + number(spec.type));
  if (spec.shutdown && !known(spec.shutdown->how))
    return invalid(spec, "shutdown must be brutal_kill, a timeout or infinity, got " + number(spec.shutdown->how));
  if (spec.shutdown && spec.shutdown->how == shutdown_policy::kind::timeout
      && spec.shutdown->timeout.count() <= 0)
    return invalid(spec, "shutdown timeout must be > 0 ms, got "
                           + std::to_string(spec.shutdown->timeout.count()));
  if (spec.significant && spec.restart == restart_type::permanent)
    return invalid(spec, "significant requires restart transient or temporary, got permanent");
  if (spec.significant && flags.auto_shutdown == auto_shutdown::never)
    return invalid(spec, "significant = true requires auto_shutdown any_significant or "
                         "all_significant, got never");
  if (spec.backoff) {
    auto why = invalid_field(*spec.backoff);
    if (!why.empty())
      return invalid(spec, why);
  }
  return {};
}

caf::error validate(const supervisor_flags& flags, const std::vector<child_spec>& specs) {
  if (auto err = validate(flags))
    return err;
  if (flags.strategy == strategy::simple_one_for_one && specs.size() != 1)
    return make_error(errc::invalid_spec, "simple_one_for_one needs exactly one child spec, got "
                                            + std::to_string(specs.size()));
  std::unordered_set<std::string> ids;
  for (const auto& spec : specs) {
    if (auto err = validate(spec, flags))
      return err;
    if (!ids.insert(spec.id).second)
      return make_error(errc::duplicate_child, "child id '" + spec.id + "' appears twice");
  }
  return {};
}

} // namespace otpp::supervision
