#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace otpp::supervision {

/// The type of one argument of a kind.
enum class argument_type { string, integer, number, boolean };

std::string to_string(argument_type x);

/// One argument's value, as configuration gives it.
using argument_value = std::variant<std::string, int64_t, double, bool>;

/// `"text"`, `42`, `0.5`, `true`: a value as TOML would write it.
std::string to_string(const argument_value& x);

/// One argument a kind accepts, as the kind declares it: name, type, range,
/// and whether it is required or has a default. Made with `string_arg`,
/// `integer_arg`, `number_arg`, `boolean_arg` or `choice_arg`, then
/// `.required()` or `.defaults(value)`.
struct argument_spec {
  std::string name;
  argument_type type = argument_type::string;
  bool is_required = false;
  std::optional<argument_value> default_value; ///< given to the kind when the argument is absent
  double min = -std::numeric_limits<double>::infinity(); ///< integer and number: inclusive range
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices; ///< string: one of these when not empty
  bool allow_empty = true;          ///< string: whether "" is accepted
  /// A check of the kind's own, after type and range: why the value is wrong, or "".
  std::function<std::string(const argument_value&)> validator;

  /// The argument must be given.
  argument_spec required() && {
    is_required = true;
    return std::move(*this);
  }

  /// The value the kind gets when the argument is absent (converted to the declared type).
  template <class T>
  argument_spec defaults(T value) && {
    if constexpr (std::is_same_v<T, bool>)
      default_value = value;
    else if constexpr (std::is_integral_v<T>)
      default_value = type == argument_type::number ? argument_value{static_cast<double>(value)}
                                                    : argument_value{static_cast<int64_t>(value)};
    else if constexpr (std::is_floating_point_v<T>)
      default_value = static_cast<double>(value);
    else
      default_value = std::string{value};
    return std::move(*this);
  }

  /// Adds a check of the kind's own (`why(value)` returns "" for a good value).
  argument_spec validate(std::function<std::string(const argument_value&)> why) && {
    validator = std::move(why);
    return std::move(*this);
  }

  /// A string: "" is refused.
  argument_spec non_empty() && {
    allow_empty = false;
    return std::move(*this);
  }
};

/// A string argument.
argument_spec string_arg(std::string name);

/// An integer argument in [min, max].
argument_spec integer_arg(std::string name, int64_t min = std::numeric_limits<int64_t>::min(),
                          int64_t max = std::numeric_limits<int64_t>::max());

/// A number argument in [min, max]; integers are accepted as numbers.
argument_spec number_arg(std::string name, double min = -std::numeric_limits<double>::infinity(),
                         double max = std::numeric_limits<double>::infinity());

/// A boolean argument.
argument_spec boolean_arg(std::string name);

/// A string argument that must be one of `choices`.
argument_spec choice_arg(std::string name, std::vector<std::string> choices);

/// A kind's arguments after validation: every declared argument that was
/// given or has a default, with its declared type. Getters throw
/// `std::invalid_argument` naming the argument when it is absent or of
/// another type (inside a start function, that becomes a start error).
class arguments {
public:
  arguments() = default;

  /// Values as given; `check_arguments` is what validates them.
  arguments(std::map<std::string, argument_value> values) : values_(std::move(values)) {}

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  const std::string& get_string(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  double get_number(const std::string& name) const; ///< an integer value is converted
  bool get_bool(const std::string& name) const;

  /// The value of `name`, or `fallback` when absent.
  std::string get_string_or(const std::string& name, const std::string& fallback) const;
  int64_t get_int_or(const std::string& name, int64_t fallback) const;

  const std::map<std::string, argument_value>& values() const { return values_; }

  /// `{a = 1, b = "x"}`, for logs.
  std::string to_string() const;

  friend bool operator==(const arguments& a, const arguments& b) { return a.values_ == b.values_; }
  friend bool operator!=(const arguments& a, const arguments& b) { return !(a == b); }

private:
  const argument_value& at(const std::string& name) const;
  std::map<std::string, argument_value> values_;
};

/// One thing wrong with a kind's arguments: the argument's name and why.
struct argument_problem {
  std::string name;
  std::string message;
};

/// Checks `given` against `specs`: unknown names (with the closest declared
/// name), wrong types, values out of range or not among the choices, and
/// missing required arguments; every problem at once. With none, `out` holds
/// the given values (integers converted to numbers where declared) and the
/// defaults of the absent ones.
std::vector<argument_problem> check_arguments(const std::vector<argument_spec>& specs,
                                              const std::map<std::string, argument_value>& given, arguments& out);

/// The name among `known` closest to `name` (at most two edits away), or "".
std::string closest_name(const std::string& name, const std::vector<std::string>& known);

} // namespace otpp::supervision
