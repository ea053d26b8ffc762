#include "otpp/supervision/kinds.hpp"

#include "otpp/supervision/errors.hpp"

namespace otpp::supervision {

void kind_table::add(const std::string& name, kind k) {
  std::lock_guard<std::mutex> guard{mtx_};
  kinds_[name] = std::move(k);
}

caf::expected<kind> kind_table::find(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = kinds_.find(name); i != kinds_.end())
    return i->second;
  std::string known;
  for (auto& entry : kinds_)
    known += (known.empty() ? "" : ", ") + entry.first;
  return make_error(errc::invalid_spec,
                    "unknown " + role_ + " '" + name + "' (registered: " + (known.empty() ? "none" : known) + ")");
}

std::vector<std::string> kind_table::names() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> result;
  for (auto& entry : kinds_)
    result.push_back(entry.first);
  return result;
}

namespace {

kind_table& child_table() {
  static kind_table table{"child kind"};
  return table;
}

} // namespace

void register_child_kind(const std::string& name, std::vector<argument_spec> arguments, kind_factory start) {
  child_table().add(name, {std::move(arguments), std::move(start)});
}

caf::expected<kind> find_child_kind(const std::string& name) {
  return child_table().find(name);
}

std::vector<std::string> child_kinds() {
  return child_table().names();
}

} // namespace otpp::supervision
