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

  TEST_CASE("filters: {{ NAME | FILTER }}, q quotes for the shell, unknown ones are load errors") {
    Fixture f;
    f.registered["version"] = "1.0; touch /tmp/x 'y'";
    Interpolated result =
        interpolate("v={{ version | q }} raw={{version|raw}} app={{ app | q | raw }}", f.context());
    CHECK(result.text == R"(v='1.0; touch /tmp/x '\''y'\''' raw=1.0; touch /tmp/x 'y' app='from-host')");
    CHECK(result.missing.empty());
    CHECK(referenced_vars("{{ version | q }} {{ app|raw }}") == std::vector<std::string>{"version", "app"});
    CHECK(template_error("{{ version | q }}") == "");
    CHECK(template_error("echo {{ version | qq }}") ==
          R"(unknown filter "qq" in "{{ version | qq }}" (did you mean "q"?) (filters: q, raw))");
    CHECK(template_error("echo {{ version | }}") ==
          R"(bad variable reference "{{ version | }}" (write \{{ for a literal {{))");
    CHECK(template_error("echo {{ version | Q-x }}") ==
          R"(bad variable reference "{{ version | Q-x }}" (write \{{ for a literal {{))");
  }

  TEST_CASE("registered values are marked as host output, with or without a filter") {
    Fixture f;
    Interpolated result = interpolate("{{reg}} {{ reg | q }} {{app}} {{cli}}", f.context());
    REQUIRE(result.from_output.size() == 2);
    CHECK(result.from_output[0].name == "reg");
    CHECK(result.from_output[0].value == "from-register");
    CHECK_FALSE(result.from_output[0].is_filtered);
    CHECK(result.from_output[1].is_filtered);
  }

  TEST_CASE("shell words and local paths from host output") {
    CHECK(is_shell_word("1.2.3-rc1+build/x86_64@host:8080,a=b%"));
    CHECK_FALSE(is_shell_word("1.0; rm -rf ~"));
    CHECK_FALSE(is_shell_word("$(id)"));
    CHECK_FALSE(is_shell_word("a b"));
    CHECK_FALSE(is_shell_word(""));
    CHECK(host_path_error({"d", "releases/1.0/app.tar", false}) == "");
    CHECK(host_path_error({"d", "a..b/..c", false}) == "");
    CHECK(host_path_error({"d", "../../x", false}) == R"("../../x" has a ".." component)");
    CHECK(host_path_error({"d", "a/../../x", false}) == R"("a/../../x" has a ".." component)");
    CHECK(host_path_error({"d", "a/..", false}) == R"("a/.." has a ".." component)");
    CHECK(host_path_error({"d", "/etc/passwd", false}) == R"("/etc/passwd" is an absolute path)");
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
