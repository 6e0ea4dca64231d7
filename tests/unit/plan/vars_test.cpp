// SPDX-License-Identifier: MIT
// Tests of src/plan/vars.cpp: lookup order, built-ins, templates, escapes and missing names.
#include "plan/vars.hpp"

#include <doctest/doctest.h>

using namespace deployd;
using namespace deployd::plan;

namespace {

struct Fixture {
  Plan plan;
  Host host;
  VarMap registered;

  Fixture() {
    host.name = "web01";
    host.address = "127.0.99.1";
    host.port = 2222;
    host.user = "deploy";
    host.vars = {{"role", "host"}, {"app", "from-host"}};
    plan.vars = {{"app", "from-plan"}, {"only_plan", "p"}, {"reg", "from-plan"}};
    plan.overrides = {{"cli", "from-cli"}, {"role", "from-cli"}};
    registered = {{"reg", "from-register"}, {"role", "from-register"}};
  }
  VarContext context() const { return {&plan, &host, &registered, "20240101T000000Z-ab12"}; }
};

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("variables resolve in the contract's order: --var, registered, host, plan") {
    Fixture f;
    VarContext ctx = f.context();
    CHECK(lookup_var("role", ctx) == "from-cli");
    CHECK(lookup_var("reg", ctx) == "from-register");
    CHECK(lookup_var("app", ctx) == "from-host");
    CHECK(lookup_var("only_plan", ctx) == "p");
    CHECK(lookup_var("nothing", ctx) == std::nullopt);
  }

  TEST_CASE("built-in variables describe the host and the run") {
    Fixture f;
    VarContext ctx = f.context();
    CHECK(
        interpolate("{{host}} {{host.address}}:{{host.port}} {{host.user}} {{run.id}}", ctx).text ==
        "web01 127.0.99.1:2222 deploy 20240101T000000Z-ab12");
    VarContext local{&f.plan, nullptr, nullptr, "r1"};
    CHECK(lookup_var("host", local) == std::nullopt);
    CHECK(lookup_var("run.id", local) == "r1");
  }

  TEST_CASE("spaces inside the braces are allowed and escapes stay literal") {
    Fixture f;
    Interpolated result = interpolate("a={{ app }} b={{app  }} \\{{app}} {not} }}", f.context());
    CHECK(result.text == "a=from-host b=from-host {{app}} {not} }}");
    CHECK(result.missing.empty());
  }

  TEST_CASE("names that do not resolve are listed and kept as written") {
    Fixture f;
    Interpolated result = interpolate("x{{ nope }}y{{also}}{{nope}}", f.context());
    CHECK(result.text == "x{{ nope }}y{{also}}{{nope}}");
    CHECK(result.missing == std::vector<std::string>{"nope", "also", "nope"});
  }

  TEST_CASE("referenced names are listed once, in order, without escaped ones") {
    CHECK(referenced_vars("{{b}} {{ a }} {{b}} \\{{c}} {{bad name}}") ==
          std::vector<std::string>{"b", "a"});
  }

  TEST_CASE("malformed references are reported") {
    CHECK(template_error("fine {{a}} \\{{ also fine") == "");
    CHECK(template_error("echo {{ a b }}") ==
          "bad variable reference \"{{ a b }}\" (write \\{{ for a literal {{)");
    CHECK(template_error("echo {{ open") ==
          "bad variable reference \"{{ open\" (write \\{{ for a literal {{)");
  }

  TEST_CASE("built-in names are reserved and names are checked") {
    CHECK(is_reserved_var_name("host"));
    CHECK(is_reserved_var_name("host.extra"));
    CHECK(is_reserved_var_name("run"));
    CHECK_FALSE(is_reserved_var_name("hostname"));
    CHECK(is_valid_var_name("app_name-2.x"));
    CHECK_FALSE(is_valid_var_name("2app"));
    CHECK_FALSE(is_valid_var_name("a b"));
  }
}
