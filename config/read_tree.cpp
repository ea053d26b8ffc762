#include <algorithm>
#include <map>

#include "otpp/config/sections.hpp"
#include "otpp/supervision/errors.hpp"
#include "otpp/supervision/kinds.hpp"

namespace otpp::config {

namespace {

supervision::strategy strategy_of(const std::string& name) {
  if (name == "one_for_all")
    return supervision::strategy::one_for_all;
  if (name == "rest_for_one")
    return supervision::strategy::rest_for_one;
  if (name == "simple_one_for_one")
    return supervision::strategy::simple_one_for_one;
  return supervision::strategy::one_for_one;
}

void read_flags(toml_reader& r, const toml::table& t, const std::string& path, supervision::supervisor_flags& flags,
                bool is_root) {
  auto s = is_root ? r.choice(t, path, "strategy", {"one_for_one", "one_for_all", "rest_for_one"})
                   : r.choice(t, path, "strategy", {"one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"});
  if (s)
    flags.strategy = strategy_of(*s);
  if (auto i = r.integer(t, path, "intensity", 0, 1'000'000))
    flags.intensity = static_cast<int>(*i);
  if (auto p = r.integer(t, path, "period_ms", 1, max_duration_ms))
    flags.period = ms(*p);
  if (auto a = r.choice(t, path, "auto_shutdown", {"never", "any_significant", "all_significant"}))
    flags.auto_shutdown = *a == "any_significant"   ? supervision::auto_shutdown::any_significant
                          : *a == "all_significant" ? supervision::auto_shutdown::all_significant
                                                    : supervision::auto_shutdown::never;
  if (flags.strategy == supervision::strategy::simple_one_for_one
      && flags.auto_shutdown != supervision::auto_shutdown::never)
    r.add(t.get("auto_shutdown"), join(path, "auto_shutdown"), "must be never for simple_one_for_one");
}

// shutdown_ms = N, "brutal_kill" or "infinity".
void read_shutdown(toml_reader& r, const toml::table& t, const std::string& path, supervision::shutdown_policy& out) {
  auto* n = t.get("shutdown_ms");
  if (!n)
    return;
  if (auto text = n->value_exact<std::string>()) {
    if (*text == "brutal_kill")
      out = supervision::shutdown_policy::brutal_kill();
    else if (*text == "infinity")
      out = supervision::shutdown_policy::infinity();
    else
      r.add(n, join(path, "shutdown_ms"), "must be milliseconds, \"brutal_kill\" or \"infinity\", got '" + *text + "'");
    return;
  }
  if (auto v = r.integer(t, path, "shutdown_ms", 0, 86'400'000))
    out = supervision::shutdown_policy::after(ms(*v));
}

// A child of a registered kind: `[children.NAME]` or a template.
void read_child(toml_reader& r, const toml::table& t, const std::string& path, child_section& c,
                const supervision::supervisor_flags* parent_flags) {
  auto* kind_node = t.get("kind");
  auto kind_name = r.text(t, path, "kind");
  if (!kind_name && !kind_node)
    r.add(&t, join(path, "kind"), "missing (a registered child kind)");
  if (auto s = r.choice(t, path, "restart", {"permanent", "transient", "temporary"}))
    c.restart = *s == "transient"   ? supervision::restart_type::transient
                : *s == "temporary" ? supervision::restart_type::temporary
                                    : supervision::restart_type::permanent;
  read_shutdown(r, t, path, c.shutdown);
  if (auto v = r.boolean(t, path, "significant")) {
    c.significant = *v;
    if (*v && c.restart == supervision::restart_type::permanent)
      r.add(t.get("significant"), join(path, "significant"), "requires restart transient or temporary");
    else if (*v && parent_flags && parent_flags->auto_shutdown == supervision::auto_shutdown::never)
      r.add(t.get("significant"), join(path, "significant"),
            "requires its supervisor's auto_shutdown to be any_significant or all_significant");
  }
  auto* args = r.table(t, path, "args");
  if (!kind_name)
    return;
  c.kind = *kind_name;
  auto kind = supervision::find_child_kind(*kind_name);
  if (!kind) {
    r.add(kind_node, join(path, "kind"), text_of(kind.error()));
    return;
  }
  if (auto checked = r.kind_arguments(args, &t, join(path, "args"), kind->arguments))
    c.args = std::move(*checked);
}

// Each supervisor's parent must exist; each cycle is told once, from its
// first member by name. Returns the supervisors, parents first. Linear in
// the number of supervisors: each is walked past once.
std::vector<supervisor_section>
place_supervisors(toml_reader& r, const std::map<std::string, std::pair<supervisor_section, const toml::table*>>& named) {
  auto parent_path = [](const std::string& name) { return "supervisors." + name + ".parent"; };
  enum class mark { unseen, on_path, done };
  std::map<std::string, mark> marks;
  std::vector<supervisor_section> ordered;
  bool broken = false;
  for (auto& [first, entry] : named) {
    std::vector<std::string> path; // from `first` up to the first supervisor already done
    auto name = first;
    while (!name.empty() && marks[name] == mark::unseen) {
      auto& [section, table] = named.at(name);
      marks[name] = mark::on_path;
      path.push_back(name);
      if (!section.parent.empty() && !named.count(section.parent)) {
        r.add(table->get("parent"), parent_path(name), "no supervisor '" + section.parent + "'");
        broken = true;
        name.clear();
        break;
      }
      name = section.parent;
    }
    if (!name.empty() && marks[name] == mark::on_path) { // the walk came back to itself: a cycle
      auto start = std::find(path.begin(), path.end(), name);
      auto lowest = *std::min_element(start, path.end());
      std::string cycle;
      for (auto n = lowest;; n = named.at(n).first.parent) {
        cycle += n + " -> ";
        if (named.at(n).first.parent == lowest)
          break;
      }
      r.add(named.at(lowest).second->get("parent"), parent_path(lowest), "cycle: " + cycle + lowest);
      broken = true;
    }
    for (auto i = path.rbegin(); i != path.rend(); ++i) { // parents before children
      marks[*i] = mark::done;
      ordered.push_back(named.at(*i).first);
    }
  }
  if (broken || !r.problems.empty())
    ordered.clear();
  return ordered;
}

} // namespace

void read_tree(toml_reader& r, const toml::table& root, node_config& c) {
  if (auto* t = r.table(root, "", "supervisor")) {
    r.only(*t, "supervisor", {"strategy", "intensity", "period_ms", "auto_shutdown"});
    read_flags(r, *t, "supervisor", c.root.flags, true);
  }
  std::map<std::string, std::pair<supervisor_section, const toml::table*>> named;
  each_named(r, root, "supervisors", [&](const std::string& name, const toml::table& t, const std::string& path) {
    r.only(t, path, {"parent", "strategy", "intensity", "period_ms", "auto_shutdown", "template"});
    supervisor_section s;
    s.name = name;
    s.parent = r.text(t, path, "parent").value_or("");
    read_flags(r, t, path, s.flags, false);
    auto* tmpl = r.table(t, path, "template");
    if (s.flags.strategy == supervision::strategy::simple_one_for_one) {
      if (!tmpl) {
        if (!t.get("template"))
          r.add(&t, path + ".template", "missing (simple_one_for_one starts its children from a template)");
      } else {
        r.only(*tmpl, path + ".template", {"kind", "restart", "shutdown_ms", "significant", "args"});
        child_section child;
        child.name = name;
        child.supervisor = name;
        read_child(r, *tmpl, path + ".template", child, &s.flags);
        s.child_template = std::move(child);
      }
    } else if (tmpl) {
      r.add(tmpl, path + ".template", "only applies to strategy simple_one_for_one");
    }
    named[name] = {s, &t};
  });
  c.supervisors = place_supervisors(r, named);
  auto flags_of = [&](const std::string& supervisor) -> const supervision::supervisor_flags* {
    if (supervisor.empty())
      return &c.root.flags;
    auto i = named.find(supervisor);
    return i == named.end() ? nullptr : &i->second.first.flags;
  };
  each_named(r, root, "children", [&](const std::string& name, const toml::table& t, const std::string& path) {
    r.only(t, path, {"kind", "supervisor", "restart", "shutdown_ms", "significant", "args"});
    child_section child;
    child.name = name;
    child.supervisor = r.text(t, path, "supervisor").value_or("");
    read_child(r, t, path, child, flags_of(child.supervisor));
    c.children.push_back(std::move(child));
  });
  // Everything must go under a known supervisor that takes static children.
  auto check_place = [&](const std::string& section, const std::string& name, const std::string& supervisor) {
    if (supervisor.empty())
      return;
    bool nested = section == "supervisors";
    std::string key = nested ? "parent" : "supervisor";
    auto* t = root.get(section) ? root.get(section)->as_table() : nullptr;
    auto* item = t && t->get(name) ? t->get(name)->as_table() : nullptr;
    auto* at = item ? item->get(key) : nullptr;
    auto path = section + "." + name + "." + key;
    auto i = named.find(supervisor);
    if (i == named.end()) {
      if (!nested) // a missing parent is told by place_supervisors
        r.add(at, path, "no supervisor '" + supervisor + "'");
    } else if (i->second.first.flags.strategy == supervision::strategy::simple_one_for_one) {
      r.add(at, path, "'" + supervisor + "' is simple_one_for_one: its children come from its template");
    }
  };
  for (auto& l : c.limiters)
    check_place("rate_limiters", l.config.name, l.supervisor);
  for (auto& p : c.pools)
    check_place("pools", p.config.name, p.supervisor);
  for (auto& b : c.breakers)
    check_place("breakers", b.config.name, b.supervisor);
  for (auto& child : c.children)
    check_place("children", child.name, child.supervisor);
  for (auto& [name, entry] : named)
    check_place("supervisors", name, entry.first.parent);
  // Names are unique across the tree: they are child ids and registered names.
  std::map<std::string, std::string> owners;
  auto unique = [&](const std::string& name, const std::string& path) {
    if (auto [i, fresh] = owners.emplace(name, path); !fresh)
      r.add(static_cast<const toml::node*>(nullptr), path, "the name '" + name + "' is already used by " + i->second);
  };
  for (auto& [name, entry] : named)
    unique(name, "supervisors." + name);
  for (auto& l : c.limiters)
    unique(l.config.name, "rate_limiters." + l.config.name);
  for (auto& p : c.pools)
    unique(p.config.name, "pools." + p.config.name);
  for (auto& b : c.breakers)
    unique(b.config.name, "breakers." + b.config.name);
  for (auto& child : c.children)
    unique(child.name, "children." + child.name);
}

} // namespace otpp::config
