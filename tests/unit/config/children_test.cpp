#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>

#include "otpp/config/loader.hpp"
#include "otpp/supervision/kinds.hpp"

using namespace otpp;
using namespace otpp::supervision;

namespace {

void register_router_kind() {
  register_child_kind("test.router", {integer_arg("max_batch", 1, 1000).defaults(50), string_arg("queue").required()},
                      [](start_context& ctx, const arguments&) -> caf::expected<caf::actor> {
                        return ctx.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x; }}; });
                      });
}

std::vector<std::string> problems_of(const std::string& text) {
  register_router_kind();
  std::vector<std::string> result;
  for (auto& p : config::load_string(text, "shop.toml").problems)
    result.push_back(p.to_string());
  return result;
}

} // namespace

TEST_SUITE("config.children") {

TEST_CASE("a child of a registered kind is placed under a nested supervisor with its settings and arguments") {
  register_router_kind();
  auto r = config::load_string(R"([supervisors.storage]
strategy = "one_for_all"
auto_shutdown = "any_significant"

[children.order_router]
kind = "test.router"
supervisor = "storage"
restart = "transient"
shutdown_ms = "brutal_kill"
significant = true
[children.order_router.args]
queue = "orders"

[children.audit]
kind = "test.router"
shutdown_ms = 250
args = { queue = "audit", max_batch = 7 }
)",
                               "shop.toml");
  REQUIRE_MESSAGE(r.config, (r.problems.empty() ? "" : r.problems.front().to_string()));
  auto& children = r.config->children;
  REQUIRE(children.size() == 2);
  CHECK(children[0].name == "order_router"); // file order
  CHECK(children[0].supervisor == "storage");
  CHECK(children[0].restart == restart_type::transient);
  CHECK(children[0].shutdown.how == shutdown_policy::kind::brutal_kill);
  CHECK(children[0].significant);
  CHECK(children[0].args.get_string("queue") == "orders");
  CHECK(children[0].args.get_int("max_batch") == 50);
  CHECK(children[1].name == "audit");
  CHECK(children[1].supervisor.empty());
  CHECK(children[1].restart == restart_type::permanent);
  CHECK(children[1].shutdown.timeout == std::chrono::milliseconds{250});
  CHECK(children[1].args.get_int("max_batch") == 7);
  CHECK(r.config->supervisors.at(0).flags.auto_shutdown == auto_shutdown::any_significant);
}

TEST_CASE("a child's arguments are checked against its kind's declaration, each problem at its position") {
  CHECK(problems_of("[children.r]\nkind = \"test.router\"\n[children.r.args]\nmax_bach = 5\nqueue = 3\n")
        == std::vector<std::string>{
          "shop.toml:4:1: children.r.args.max_bach: unknown argument (did you mean 'max_batch'?)",
          "shop.toml:5:9: children.r.args.queue: must be a string, got 3"});
  CHECK(problems_of("[children.r]\nkind = \"test.router\"\n[children.r.args]\nmax_batch = 5000\n")
        == std::vector<std::string>{"shop.toml:3:1: children.r.args.queue: missing (a required string)",
                                    "shop.toml:4:13: children.r.args.max_batch: must be in [1, 1000], got 5000"});
  CHECK(problems_of("[children.r]\nkind = \"test.router\"\n")
        == std::vector<std::string>{"shop.toml:1:1: children.r.args.queue: missing (a required string)"});
}

TEST_CASE("a child names a registered kind, a known supervisor and valid settings") {
  auto unknown = problems_of("[children.r]\nkind = \"geo\"\n");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].rfind("shop.toml:2:8: children.r.kind: unknown child kind 'geo' (registered: ", 0) == 0);
  CHECK(unknown[0].find("test.router") != std::string::npos);
  CHECK(problems_of("[children.r]\nsupervisor = \"nowhere\"\nrestart = \"sometimes\"\nshutdown_ms = \"soon\"\n"
                    "significant = true\nflavour = 1\n")
        == std::vector<std::string>{
          "shop.toml:1:1: children.r.kind: missing (a registered child kind)",
          "shop.toml:2:14: children.r.supervisor: no supervisor 'nowhere'",
          "shop.toml:3:11: children.r.restart: must be one of permanent, transient, temporary, got 'sometimes'",
          "shop.toml:4:15: children.r.shutdown_ms: must be milliseconds, \"brutal_kill\" or \"infinity\", got 'soon'",
          "shop.toml:5:15: children.r.significant: requires restart transient or temporary",
          "shop.toml:6:1: children.r.flavour: unknown key"});
  CHECK(problems_of("[children.r]\nkind = \"test.router\"\nrestart = \"transient\"\nsignificant = true\nargs.queue = \"q\"\n")
        == std::vector<std::string>{"shop.toml:4:15: children.r.significant: requires its supervisor's auto_shutdown "
                                    "to be any_significant or all_significant"});
  CHECK(problems_of("[pools.orders]\nsize = 1\n[children.orders]\nkind = \"test.router\"\nargs.queue = \"q\"\n")
        == std::vector<std::string>{"shop.toml:0:0: children.orders: the name 'orders' is already used by pools.orders"});
}

TEST_CASE("a simple_one_for_one supervisor takes a child kind as its template and nothing placed under it") {
  register_router_kind();
  auto r = config::load_string(R"([supervisors.sessions]
strategy = "simple_one_for_one"
[supervisors.sessions.template]
kind = "test.router"
restart = "temporary"
args.queue = "s"
)",
                               "shop.toml");
  REQUIRE_MESSAGE(r.config, (r.problems.empty() ? "" : r.problems.front().to_string()));
  auto& s = r.config->supervisors.at(0);
  CHECK(s.flags.strategy == strategy::simple_one_for_one);
  REQUIRE(s.child_template);
  CHECK(s.child_template->kind == "test.router");
  CHECK(s.child_template->restart == restart_type::temporary);
  CHECK(s.child_template->args.get_string("queue") == "s");
  CHECK(problems_of("[supervisors.sessions]\nstrategy = \"simple_one_for_one\"\n")
        == std::vector<std::string>{"shop.toml:1:1: supervisors.sessions.template: missing (simple_one_for_one "
                                    "starts its children from a template)"});
  CHECK(problems_of("[supervisors.s]\nstrategy = \"simple_one_for_one\"\ntemplate = { kind = \"test.router\", args = "
                    "{ queue = \"q\" } }\n[pools.p]\nsize = 1\nsupervisor = \"s\"\n")
        == std::vector<std::string>{
          "shop.toml:6:14: pools.p.supervisor: 's' is simple_one_for_one: its children come from its template"});
  CHECK(problems_of("[supervisors.s]\ntemplate.kind = \"test.router\"\n")
        == std::vector<std::string>{
          "shop.toml:2:1: supervisors.s.template: only applies to strategy simple_one_for_one"});
  CHECK(problems_of("[supervisor]\nstrategy = \"simple_one_for_one\"\n")
        == std::vector<std::string>{"shop.toml:2:12: supervisor.strategy: must be one of one_for_one, one_for_all, "
                                    "rest_for_one, got 'simple_one_for_one'"});
}

}
