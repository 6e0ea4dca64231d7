// SPDX-License-Identifier: MIT
// Tests of src/plan/vars.cpp: lookup order, built-ins, templates, escapes and missing names.
#include "plan/vars.hpp"

#include <doctest/doctest.h>

using namespace deployd;
using namespace deployd::plan;

namespace {

struct VarsFixture {
  Plan plan;
  Host host;
  VarMap registered;

  VarsFixture() {
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
    VarsFixture f;
    VarContext ctx = f.context();
    CHECK(lookup_var("role", ctx) == "from-cli");
    CHECK(lookup_var("reg", ctx) == "from-register");
    CHECK(lookup_var("app", ctx) == "from-host");
    CHECK(lookup_var("only_plan", ctx) == "p");
    CHECK(lookup_var("nothing", ctx) == std::nullopt);
  }

  TEST_CASE("built-in variables describe the host and the run") {
    VarsFixture f;
    VarContext ctx = f.context();
    CHECK(
        interpolate("{{host}} {{host.address}}:{{host.port}} {{host.user}} {{run.id}}", ctx).text ==
        "web01 127.0.99.1:2222 deploy 20240101T000000Z-ab12");
    VarContext local{&f.plan, nullptr, nullptr, "r1"};
    CHECK(lookup_var("host", local) == std::nullopt);
    CHECK(lookup_var("run.id", local) == "r1");
  }

  TEST_CASE("spaces inside the braces are allowed and escapes stay literal") {
    VarsFixture f;
    Interpolated result = interpolate("a={{ app }} b={{app  }} \\{{app}} {not} }}", f.context());
    CHECK(result.text == "a=from-host b=from-host {{app}} {not} }}");
    CHECK(result.missing.empty());
  }

  TEST_CASE("names that do not resolve are listed and kept as written") {
    VarsFixture f;
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
          "in \"{{ a b }}\" at column 11: unexpected \"b\" after the expression (a missing "
          "operator?)");
    CHECK(template_error("echo {{ open") ==
          "bad variable reference \"{{ open\" (write \\{{ for a literal {{)");
  }

  TEST_CASE("filters: {{ NAME | FILTER }}, q quotes for the shell, unknown ones are load errors") {
    VarsFixture f;
    f.registered["version"] = "1.0; touch /tmp/x 'y'";
    Interpolated result =
        interpolate("v={{ version | q }} raw={{version|raw}} app={{ app | q | raw }}", f.context());
    CHECK(result.text == R"(v='1.0; touch /tmp/x '\''y'\''' raw=1.0; touch /tmp/x 'y' app='from-host')");
    CHECK(result.missing.empty());
    CHECK(referenced_vars("{{ version | q }} {{ app|raw }}") == std::vector<std::string>{"version", "app"});
    CHECK(template_error("{{ version | q }}") == "");
    CHECK(
        template_error("echo {{ version | qq }}") ==
        R"(in "{{ version | qq }}" at column 19: unknown filter "qq" (did you mean "q"?) (filters: q, )"
        R"(raw, join, default, basename, dirname, upper, lower, replace, trim, length, first, last))");
    CHECK(template_error("echo {{ version | }}") ==
          R"(in "{{ version | }}" at column 19: expected a filter name after "|", found the end)");
    CHECK(template_error("é {{ version | 1 }}") ==
          R"(in "{{ version | 1 }}" at column 16: expected a filter name after "|", found "1")");
  }

  TEST_CASE("registered values are marked as host output, with or without a filter") {
    VarsFixture f;
    Interpolated result = interpolate("{{reg}} {{ reg | q }} {{app}} {{cli}}", f.context());
    REQUIRE(result.from_output.size() == 2);
    CHECK(result.from_output[0].name == "reg");
    CHECK(result.from_output[0].value == "from-register");
    CHECK_FALSE(result.from_output[0].is_filtered);
    CHECK(result.from_output[1].is_filtered);
  }

  TEST_CASE("lists and objects: a dotted name is a flat name first, then a path") {
    VarsFixture f;
    f.plan.vars["svc"] =
        Value::object({"root", "ports"}, {"/srv/shop", Value::list({"80", "443"})});
    f.plan.vars["svc.root"] = "/flat";                       // a flat name wins over the path
    f.host.vars["app"] = Value::object({"port"}, {"8080"});  // the host's app hides the plan's
    f.plan.vars["sites"] = Value::list({"shop", Value::object({"name"}, {"blog"})});
    VarContext ctx = f.context();
    CHECK(lookup_var("svc.root", ctx) == "/flat");
    CHECK(lookup_var("svc.ports.1", ctx) == "443");
    CHECK(lookup_var("app.port", ctx) == "8080");
    f.plan.vars["app"] = Value::object({"user"}, {"www"});
    CHECK(lookup_var("app.user", ctx) == std::nullopt);
    CHECK(lookup_var("sites.1.name", ctx) == "blog");
    CHECK(lookup_var("sites.2", ctx) == std::nullopt);
    CHECK(lookup_var("sites", ctx) == R"(["shop",{"name":"blog"}])");
    CHECK(interpolate("{{ svc.ports | join(',') }} {{ sites.0 | upper }}", ctx).text ==
          "80,443 SHOP");
  }

  TEST_CASE("values are templates, resolved for each host when read") {
    VarsFixture f;
    f.plan.vars["root"] = "/srv/{{app}}";
    f.plan.vars["current"] = "{{root}}/current";
    f.plan.vars["dirs"] = Value::list({"{{root}}/releases", "{{current}}"});
    f.plan.vars["escaped"] = "\\{{root}}";
    f.registered["out"] = "{{root}}";  // host output is data: never resolved
    VarContext ctx = f.context();
    CHECK(lookup_var("current", ctx) == "/srv/from-host/current");
    CHECK(interpolate("{{ dirs | join(' ') }}", ctx).text ==
          "/srv/from-host/releases /srv/from-host/current");
    CHECK(lookup_var("escaped", ctx) == "{{root}}");
    CHECK(lookup_var("out", ctx) == "{{root}}");
  }

  TEST_CASE("a cycle among values is an error that names each variable and where it is") {
    VarsFixture f;
    Value a("{{b}}/x");
    a.defined_at = "plan.json:3:5";
    Value b("{{a}}");
    b.defined_at = "plan.json:4:5";
    f.plan.vars["a"] = a;
    f.plan.vars["b"] = b;
    Resolved resolved = resolve_var("a", f.context());
    CHECK_FALSE(resolved.value);
    CHECK(resolved.error == "variable cycle: a -> b -> a (a: plan.json:3:5, b: plan.json:4:5)");
    f.plan.vars["c"] = Value("{{nope}}");
    f.plan.vars["c"].defined_at = "plan.json:5:5";
    CHECK(resolve_var("c", f.context()).error ==
          "undefined variable \"nope\" in the value of \"c\" (plan.json:5:5)");
  }

  TEST_CASE("groups.NAME and host.groups") {
    VarsFixture f;
    f.plan.groups = {{"all", {"web01", "db1"}}, {"web", {"web01"}}};
    f.host.groups = {"web"};
    VarContext ctx = f.context();
    CHECK(lookup_var("groups.all", ctx) == R"(["web01","db1"])");
    CHECK(interpolate("{{ groups.web | join(' ') }} {{ host.groups.0 }}", ctx).text == "web01 web");
    CHECK(lookup_var("groups.nope", ctx) == std::nullopt);
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
