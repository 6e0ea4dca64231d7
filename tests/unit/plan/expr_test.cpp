// SPDX-License-Identifier: MIT
// Tests of src/plan/expr.cpp and src/plan/filters.cpp: the grammar, whole error messages with
// their column, and what each operator, function and filter gives.
#include "plan/expr.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace deployd;
using namespace deployd::plan;

namespace {

// Names from a map; `failed` for the status functions.
class MapScope : public Scope {
 public:
  explicit MapScope(std::map<std::string, Value> values) : values_(std::move(values)) {}
  std::optional<Value> lookup(std::string_view name) override {
    auto found = values_.find(std::string(name));
    if (found != values_.end()) return found->second;
    const std::size_t dot = name.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    auto parent = lookup(name.substr(0, dot));
    if (!parent) return std::nullopt;
    const Value* member = parent->member(name.substr(dot + 1));
    return member ? std::optional<Value>(*member) : std::nullopt;
  }

 private:
  std::map<std::string, Value> values_;
};

MapScope sample() {
  return MapScope({{"mode", "full"},
                   {"count", "10"},
                   {"version", "1.10"},
                   {"empty", ""},
                   {"sites", Value::list({"shop", "blog"})},
                   {"app", Value::object({"root", "port"}, {"/srv/app/", "8080"})},
                   {"path", "/srv/app/current/"}});
}

// The parse error of `text`, as `column N: message`.
std::string parse_error(std::string_view text) {
  SyntaxError error;
  if (Expr::parse(text, error)) return "";
  return error.to_string();
}

// `text` evaluated on sample(): its value as text, or its error.
std::string eval(std::string_view text, bool host_failed = false) {
  SyntaxError syntax;
  auto expr = Expr::parse(text, syntax);
  if (!expr) return "parse: " + syntax.to_string();
  MapScope scope = sample();
  scope.host_failed = host_failed;
  Evaluated result = expr->evaluate(scope);
  if (!result.error.empty()) return "error: " + result.error;
  return to_text(result.value);
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("expressions: comparisons, numbers compared as numbers, texts as texts") {
    CHECK(eval("mode == 'full'") == "true");
    CHECK(eval("mode != \"full\"") == "false");
    CHECK(eval("count > 9") == "true");  // 10 > 9 as numbers, not "10" < "9" as texts
    CHECK(eval("count >= 10.0") == "true");
    CHECK(eval("version == 1.1") == "true");  // numbers: 1.10 is 1.1
    CHECK(eval("version == '1.10'") == "true");
    CHECK(eval("'b' > 'a'") == "true");
    CHECK(eval("-3 < 2") == "true");
    CHECK(eval("sites == ['shop', 'blog']") == "true");
    CHECK(eval("sites < 3") == "error: column 7: \"<\" cannot compare a list with a text");
  }

  TEST_CASE("expressions: and, or, not, in, not in, parentheses") {
    CHECK(eval("mode == 'full' and count > 3") == "true");
    CHECK(eval("mode == 'quick' or not empty") == "true");
    CHECK(eval("not (mode == 'full' or false)") == "false");
    CHECK(eval("'shop' in sites") == "true");
    CHECK(eval("'wiki' not in sites") == "true");
    CHECK(eval("'ul' in mode") == "true");   // a text: a substring
    CHECK(eval("'root' in app") == "true");  // an object: a key
    CHECK(eval("true and false") == "false");
    // `and` goes before `or`, as in Python and Jinja
    CHECK(eval("true or true and false") == "true");
  }

  TEST_CASE("expressions: what is true") {
    CHECK(eval("not ''") == "true");
    CHECK(eval("not 0") == "true");
    CHECK(eval("not 'false'") == "true");
    CHECK(eval("not []") == "true");
    CHECK(eval("not 'no'") == "false");  // only false, 0 and empty are false
    CHECK(eval("not sites") == "false");
  }

  TEST_CASE("expressions: fields and items of lists and objects") {
    CHECK(eval("app.port == 8080") == "true");
    CHECK(eval("sites.1") == "blog");
    CHECK(eval("app") == R"({"root":"/srv/app/","port":"8080"})");
    CHECK(eval("sites.5") == "error: variable \"sites.5\" has no value");
  }

  TEST_CASE("expressions: functions") {
    CHECK(eval("defined(mode) and not defined(nothing)") == "true");
    CHECK(eval("defined(app.port) and not defined(app.user)") == "true");
    CHECK(eval("contains(sites, 'blog')") == "true");
    CHECK(eval("startswith(path, '/srv')") == "true");
    CHECK(eval("endswith(path, '/')") == "true");
    CHECK(eval("length(sites) == 2 and length('héllo') == 5") == "true");
    CHECK(eval("startswith(sites, 's')") ==
          "error: column 1: startswith() takes two texts, got a list and a text");
  }

  TEST_CASE("expressions: status functions") {
    CHECK(eval("success()") == "true");
    CHECK(eval("success()", true) == "false");
    CHECK(eval("failure()", true) == "true");
    CHECK(eval("always()", true) == "true");
    SyntaxError error;
    CHECK(Expr::parse("failure() and mode == 'full'", error)->uses_status());
    CHECK_FALSE(Expr::parse("mode == 'full'", error)->uses_status());
  }

  TEST_CASE(
      "filters: q, join, default, basename, dirname, upper, lower, replace, trim, first, last") {
    CHECK(eval("mode | upper") == "FULL");
    CHECK(eval("'A b' | lower | q") == "'a b'");
    CHECK(eval("sites | join(' ')") == "shop blog");
    CHECK(eval("sites | join") == "shopblog");
    CHECK(eval("nothing | default('y')") == "y");
    CHECK(eval("mode | default('y')") == "full");
    CHECK(eval("'/srv/app/current.tar' | basename") == "current.tar");
    CHECK(eval("'/srv/app/current.tar' | dirname") == "/srv/app");
    CHECK(eval("'/x' | dirname") == "/");
    CHECK(eval("'x' | dirname") == "");
    CHECK(eval("'a-b-c' | replace('-', '_')") == "a_b_c");
    CHECK(eval("'  x \n' | trim") == "x");
    CHECK(eval("sites | first") == "shop");
    CHECK(eval("sites | last | length") == "4");
    CHECK(eval("sites | upper") == "error: column 9: filter \"upper\" needs a text, not a list");
  }

  TEST_CASE("names read, without those that may be undefined") {
    SyntaxError error;
    auto expr = Expr::parse("a == b.c and defined(d) and (e | default(f)) in [a, g]", error);
    REQUIRE(expr);
    CHECK(expr->names() == std::vector<std::string>{"a", "b.c", "f", "g"});
  }

  TEST_CASE("syntax errors point at their column") {
    CHECK(parse_error("") == "column 1: empty expression");
    CHECK(parse_error("mode = 'full'") == "column 6: unexpected \"=\" (write \"==\" to compare)");
    CHECK(parse_error("!ready") == "column 1: unexpected \"!\" (write \"not\" or \"!=\")");
    CHECK(parse_error("a && b") == "column 3: unexpected \"&\" (write \"and\")");
    CHECK(parse_error("mode == 'full") == "column 9: unterminated string");
    CHECK(parse_error("mode == full extra") ==
          "column 14: unexpected \"extra\" after the expression (a missing operator?)");
    CHECK(parse_error("(a == b") ==
          "column 8: expected \")\" to close the parenthesis, found the end");
    CHECK(parse_error("[a, b") == "column 6: expected \"]\" to close the list, found the end");
    CHECK(parse_error("a not b") == "column 7: expected \"in\" after \"not\", found \"b\"");
    CHECK(parse_error("a ==") == "column 5: expected a value, found the end");
    CHECK(parse_error("sucess()") ==
          "column 1: unknown function \"sucess\" (did you mean \"success\"?) (functions: defined, "
          "contains, startswith, endswith, length, success, failure, always)");
    CHECK(parse_error("x | uper") ==
          "column 5: unknown filter \"uper\" (did you mean \"upper\"?) (filters: q, raw, join, "
          "default, "
          "basename, dirname, upper, lower, replace, trim, length, first, last)");
    CHECK(parse_error("x | replace('a')") ==
          "column 5: filter \"replace\" takes 2 arguments, got 1");
    CHECK(parse_error("contains(a)") == "column 1: contains() takes 2 arguments, got 1");
    CHECK(parse_error("defined('a')") ==
          "column 1: defined() takes a variable name, e.g. defined(version)");
    CHECK(parse_error("a.") == "column 1: bad name \"a.\"");
    CHECK(parse_error("1.2.3 == v") == "column 1: bad number \"1.2.3\"");
    CHECK(parse_error("é == 1") == "column 1: unexpected \"é\"");
    CHECK(parse_error("'é' == é") == "column 8: unexpected \"é\"");  // columns count code points
    CHECK(parse_error(std::string(100, '(') + "a" + std::string(100, ')')).starts_with("column "));
  }

  TEST_CASE("evaluation is deterministic and the expression is shared") {
    SyntaxError error;
    auto expr = Expr::parse("mode | upper", error);
    MapScope one = sample();
    MapScope two = sample();
    CHECK(to_text(expr->evaluate(one).value) == to_text(expr->evaluate(two).value));
    CHECK(expr->text() == "mode | upper");
  }
}
