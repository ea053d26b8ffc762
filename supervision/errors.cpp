#include "otpp/supervision/errors.hpp"

#include <mutex>

#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace otpp::supervision {

std::string to_string(errc code) {
  switch (code) {
    case errc::invalid_flags: return "invalid_flags";
    case errc::invalid_spec: return "invalid_spec";
    case errc::duplicate_child: return "duplicate_child";
    case errc::start_failed: return "start_failed";
    case errc::not_found: return "not_found";
    case errc::running: return "running";
    case errc::restarting: return "restarting";
    case errc::already_present: return "already_present";
    case errc::already_started: return "already_started";
    case errc::not_allowed: return "not_allowed";
    case errc::exception: return "exception";
    case errc::shutdown: return "shutdown";
    case errc::name_taken: return "name_taken";
  }
  return "unknown_errc";
}

caf::error make_categorized_error(caf::atom_value category, uint8_t code, std::string text) {
  if (text.empty())
    return caf::error{code, category};
  return caf::error{code, category, caf::make_message(std::move(text))};
}

caf::error make_error(errc code, std::string text) {
  return make_categorized_error(errc_category, static_cast<uint8_t>(code), std::move(text));
}

bool is(const caf::error& reason, errc code) {
  return reason && reason.category() == errc_category && reason.code() == static_cast<uint8_t>(code);
}

caf::error make_already_started(std::string text, caf::actor running) {
  return caf::error{static_cast<uint8_t>(errc::already_started), errc_category,
                    caf::make_message(std::move(text), std::move(running))};
}

caf::actor already_started_child(const caf::error& reason) {
  if (!is(reason, errc::already_started) || !reason.context().match_elements<std::string, caf::actor>())
    return {};
  return reason.context().get_as<caf::actor>(1);
}

namespace {

struct category_names {
  caf::atom_value category;
  std::string (*name_of)(uint8_t);
};

std::string errc_name(uint8_t code) {
  return to_string(static_cast<errc>(code));
}

std::mutex names_mutex;

std::vector<category_names>& names() {
  static std::vector<category_names> table{{errc_category, errc_name}};
  return table;
}

std::string (*names_of(caf::atom_value category))(uint8_t) {
  std::lock_guard<std::mutex> guard{names_mutex};
  for (const auto& entry : names())
    if (entry.category == category)
      return entry.name_of;
  return nullptr;
}

std::string context_text(const caf::error& reason) {
  const auto& ctx = reason.context();
  if (ctx.empty())
    return {};
  if (ctx.match_element<std::string>(0)) // a text, maybe followed by data for programs
    return ctx.get_as<std::string>(0);
  return caf::to_string(ctx);
}

std::string with_context(std::string name, const caf::error& reason) {
  auto text = context_text(reason);
  return text.empty() ? name : name + ": " + text;
}

std::string describe_exit(caf::exit_reason code) {
  switch (code) {
    case caf::exit_reason::normal: return "normal";
    case caf::exit_reason::user_shutdown: return "shutdown";
    case caf::exit_reason::kill: return "killed";
    default: return caf::to_string(code);
  }
}

} // namespace

std::string describe(const caf::error& reason) {
  if (!reason)
    return "normal";
  if (auto name_of = names_of(reason.category()))
    return with_context(name_of(reason.code()), reason);
  if (reason.category() == caf::atom("exit"))
    return with_context(describe_exit(static_cast<caf::exit_reason>(reason.code())), reason);
  if (reason.category() == caf::atom("system"))
    return with_context(caf::to_string(static_cast<caf::sec>(reason.code())), reason);
  return caf::to_string(reason);
}

void add_error_names(caf::atom_value category, std::string (*name_of)(uint8_t code)) {
  std::lock_guard<std::mutex> guard{names_mutex};
  names().push_back({category, name_of});
}

std::vector<caf::atom_value> error_categories() {
  std::lock_guard<std::mutex> guard{names_mutex};
  std::vector<caf::atom_value> result;
  for (const auto& entry : names())
    result.push_back(entry.category);
  return result;
}

bool is_normal_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown
         || is(reason, errc::shutdown);
}

} // namespace otpp::supervision
