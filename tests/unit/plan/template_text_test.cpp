// SPDX-License-Identifier: MIT
// Tests of src/plan/template_text.cpp: the Jinja subset of template files, its whitespace rule,
// its errors (line:column) and the names it reads.
#include "plan/template_text.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "plan/vars.hpp"

using namespace deployd;
using namespace deployd::plan;

namespace {

struct TemplateFixture {
  Plan plan;
  Host host;
  VarMap registered;

  TemplateFixture() {
    host.name = "web01";
    host.address = "127.0.99.1";
    host.vars = {{"port", "8080"}};
    plan.vars = {
        {"app", "shop"},
        {"root", "/srv/{{app}}"},
        {"debug", "false"},
        {"sites", Value::list({"shop", "blog"})},
        {"upstreams", Value::object({"a", "b"}, {"127.0.80.1", "127.0.80.2"})},
        {"empty", Value::list({})},
        {"users", Value::list({Value::object({"name", "admin"}, {"ann", "true"}),
                               Value::object({"name", "admin"}, {"bob", "false"})})},
    };
  }

  std::string render(std::string_view text) {
    TemplateError error;
    auto parsed = TextTemplate::parse(text, error);
    REQUIRE_MESSAGE(parsed, error.to_string());
    VarContext context{&plan, &host, &registered, "run-1"};
    VarScope scope(context);
    RenderedText rendered = parsed->render(scope);
    REQUIRE_MESSAGE(rendered.is_ok, rendered.error.to_string());
    return rendered.text;
  }

  TemplateError render_error(std::string_view text, const TemplateLimits& limits = {}) {
    TemplateError error;
    auto parsed = TextTemplate::parse(text, error);
    REQUIRE_MESSAGE(parsed, error.to_string());
    VarContext context{&plan, &host, &registered, "run-1"};
    VarScope scope(context);
    RenderedText rendered = parsed->render(scope, limits);
    REQUIRE(!rendered.is_ok);
    return rendered.error;
  }
};

std::string template_parse_error(std::string_view text) {
  TemplateError error;
  auto parsed = TextTemplate::parse(text, error);
  REQUIRE(!parsed);
  return error.to_string();
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("a template renders {{ }} with the host's variables, filters and built-ins") {
    TemplateFixture f;
    CHECK(f.render("listen {{ port }};\nroot {{root}}/current;\n") ==
          "listen 8080;\nroot /srv/shop/current;\n");
    CHECK(f.render("{{ app | upper }} on {{host}} ({{ host.address }}) {{ sites | join(',') }}") ==
          "SHOP on web01 (127.0.99.1) shop,blog");
    CHECK(f.render("no tags at all\n  {not} }} %} #}\n") == "no tags at all\n  {not} }} %} #}\n");
    CHECK(f.render("\\{{ app }} \\{% if %} \\{# x #}") == "{{ app }} {% if %} {# x #}");
  }

  TEST_CASE("if, elif and else choose one branch by the expression language") {
    TemplateFixture f;
    const char* text =
        "{% if port == 80 %}http{% elif port > 8000 and not debug %}alt{% else %}other{% endif %}";
    CHECK(f.render(text) == "alt");
    f.host.vars["port"] = "80";
    CHECK(f.render(text) == "http");
    f.host.vars["port"] = "81";
    CHECK(f.render(text) == "other");
    CHECK(f.render("{% if 'shop' in sites %}yes{% endif %}{% if empty %}no{% endif %}") == "yes");
  }

  TEST_CASE("for loops over lists and objects, with loop.* and nested blocks") {
    TemplateFixture f;
    CHECK(f.render("{% for s in sites %}[{{ s }}]{% endfor %}") == "[shop][blog]");
    CHECK(f.render("{% for u in users %}{% if u.admin %}{{ u.name }}{% endif %}{% endfor %}") ==
          "ann");
    CHECK(f.render("{% for k in upstreams %}{{k}} {% endfor %}") == "a b ");
    CHECK(f.render("{% for k, v in upstreams %}{{k}}={{v}}{% if not loop.last %},{% endif %}"
                   "{% endfor %}") == "a=127.0.80.1,b=127.0.80.2");
    CHECK(
        f.render("{% for s in sites %}{{loop.index}}/{{loop.length}}{{loop.first}} {% endfor %}") ==
        "1/2true 2/2false ");
    CHECK(f.render("{% for a in sites %}{% for b in sites %}{{a}}{{b}}.{% endfor %}{% endfor %}") ==
          "shopshop.shopblog.blogshop.blogblog.");
    CHECK(f.render("{% for s in empty %}x{% endfor %}") == "");
    // The loop variable hides a plan variable of the same name inside the loop only.
    CHECK(f.render("{% for app in sites %}{{app}}{% endfor %} {{app}}") == "shopblog shop");
  }

  TEST_CASE("a line holding only block tags or comments gives no output line") {
    TemplateFixture f;
    CHECK(f.render("upstream app {\n"
                   "  {% for s in sites %}\n"
                   "  server {{ s }};\n"
                   "  {% endfor %}\n"
                   "}\n") == "upstream app {\n  server shop;\n  server blog;\n}\n");
    CHECK(f.render("a\n{# a comment #}\n{% if debug %}\ndebug\n{% endif %}\nb") == "a\nb");
    CHECK(f.render("{% if port %}{% endif %}  \r\nx\n") == "x\n");
    // A tag beside text keeps the line, and what surrounds the tag.
    CHECK(f.render("a {% if port %}b{% endif %} c\n") == "a b c\n");
    CHECK(f.render("x {{ app }}\n{% if debug %}{% endif %}") == "x shop\n");
    // An output tag on its own line is content: the line stays.
    CHECK(f.render("{{ app }}\nend\n") == "shop\nend\n");
  }

  TEST_CASE("- inside a delimiter removes every whitespace on that side, newlines too") {
    TemplateFixture f;
    CHECK(f.render("a  \n  {%- if port %} b {%- endif %}\n") == "a b\n");
    CHECK(f.render("[ {{- app -}} ]") == "[shop]");
    CHECK(f.render("x\n{#- note -#}\n  y") == "xy");
  }

  TEST_CASE("a template that does not parse says what and where, line:column") {
    CHECK(template_parse_error("a\nb {% endfo %}") ==
          "2:3: unknown tag \"endfo\" (did you mean \"endfor\"?) "
          "(tags: if, elif, else, endif, for, endfor)");
    CHECK(template_parse_error("x\n  {% if port %}\n") ==
          "2:3: {% if %} is never closed (no {% endif %})");
    CHECK(template_parse_error("{% for s in sites %}{% endif %}") ==
          "1:21: {% endif %} closes nothing: the {% for %} at 1:1 is still open");
    CHECK(template_parse_error("{% endif %}") == "1:1: {% endif %} without {% if %}");
    CHECK(template_parse_error("{% if a %}{% else %}{% elif b %}{% endif %}") ==
          "1:21: {% elif %} after {% else %}");
    CHECK(template_parse_error("{% for s in sites %}{% else %}{% endfor %}") ==
          "1:21: {% else %} outside {% if %} (a for has no else)");
    CHECK(template_parse_error("ab\n{{ app") ==
          "2:1: unclosed \"{{\" (write \\{{ for a literal {{)");
    CHECK(template_parse_error("{# never closed") ==
          "1:1: unclosed \"{#\" (write \\{# for a literal {#)");
    CHECK(template_parse_error("é {{ a b }}") ==
          "1:8: unexpected \"b\" after the expression (a missing "
          "operator?)");
    CHECK(template_parse_error("x\n{% if port = 1 %}{% endif %}") ==
          "2:12: unexpected \"=\" (write \"==\" to compare)");
    CHECK(template_parse_error("{% for in sites %}{% endfor %}") ==
          "1:11: expected \"in\" after the loop variable (for NAME in LIST)");
    CHECK(template_parse_error("{% for loop in sites %}{% endfor %}") ==
          "1:8: bad loop variable name \"loop\" (use letters, digits, \"_\" and \"-\"; not "
          "\"loop\" or a built-in)");
    CHECK(template_parse_error("{% for host in sites %}{% endfor %}")
              .starts_with("1:8: bad loop variable"));
    CHECK(template_parse_error("{% for s of sites %}{% endfor %}") ==
          "1:10: expected \"in\" after the loop variable (for NAME in LIST)");
    CHECK(template_parse_error("{% if %}{% endif %}") == "1:1: {% if %} needs a condition");
    CHECK(template_parse_error("{% endif x %}") == "1:10: unexpected \"x\" after {% endif %}");
    CHECK(template_parse_error("{% set x = 1 %}").starts_with("1:1: unknown tag \"set\""));
    std::string deep;
    for (int i = 0; i < 70; ++i) deep += "{% if a %}";
    CHECK(template_parse_error(deep) == "1:641: blocks nested more than 64 deep");
  }

  TEST_CASE("rendering errors point at the tag") {
    TemplateFixture f;
    TemplateError error = f.render_error("a\n  x={{ nothing }}");
    CHECK(error.to_string() == "2:8: undefined variable \"nothing\"");
    CHECK(error.missing == "nothing");
    CHECK(f.render_error("{% for c in app %}{% endfor %}").to_string() ==
          "1:1: {% for c in app %}: \"shop\" is a text, not a list or an object");
    CHECK(f.render_error("{% for k, v in sites %}{% endfor %}").to_string() ==
          "1:1: {% for k, v in sites %}: two loop variables need an object (its keys and "
          "values), this is a list");
    CHECK(f.render_error("\n{{ sites < 3 }}").to_string().starts_with("2:4: \"sites < 3\": "));
  }

  TEST_CASE("limits stop a rendering that grows too big") {
    TemplateFixture f;
    const char* text = "{% for a in sites %}{% for b in sites %}{{a}}{{b}}{% endfor %}{% endfor %}";
    CHECK(f.render_error(text, TemplateLimits{10, 1000}).message ==
          "the rendered text is larger than 10 bytes");
    CHECK(f.render_error(text, TemplateLimits{1000, 5}).message ==
          "rendering takes more than 5 steps (loops too big?)");
  }

  TEST_CASE("names are the ones a template reads from the host, with where they are read") {
    TemplateError error;
    auto parsed = TextTemplate::parse(
        "{{ app }}\n{% for s in sites %}{{ s.name }}{{ loop.index }}{{ port }}{% endfor %}"
        "{% if defined(x) %}{{ loop }}{{ x.a }}{% endif %}{{ y | default('1') }}",
        error);
    REQUIRE(parsed);
    std::vector<std::string> names;
    for (const TemplateName& name : parsed->names())
      names.push_back(fmt::format("{}{}@{}:{}", name.name, name.may_be_undefined ? "?" : "",
                                  name.line, name.column));
    CHECK(names == std::vector<std::string>{"app@1:4", "sites@2:13", "port@2:52", "x?@2:77",
                                            "loop@2:93", "y?@2:123"});
  }
}
