// SPDX-License-Identifier: MIT
// Fuzz target: expressions (`when`, changed_when, failed_when) and templated values. The input
// is an expression; every name it reads is bound to a value, itself a template over the other
// names (so cycles happen). Properties: parsing and evaluation never crash; a syntax error has a
// column inside the text; an evaluation error has a column or names a cycle or a missing name;
// evaluating twice, in a new scope each time, gives the same result.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "plan/expr.hpp"
#include "plan/vars.hpp"

namespace {

using namespace deployd;
using namespace deployd::plan;

std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// A value for the i-th name: texts, numbers, lists and objects, some templates over the others.
Value value_for(std::size_t i, const std::vector<std::string>& names) {
  const std::string& other = names[(i + 1) % names.size()];
  switch (i % 5) {
    case 0:
      return Value("{{ " + other + " }}/x");  // a template (a cycle when it closes)
    case 1:
      return Value(std::to_string(i));
    case 2:
      return Value::list({"a", Value("{{" + other + " | upper}}"), "3"});
    case 3:
      return Value::object({"k", "0"}, {"v", "1"});
    default:
      return Value("");
  }
}

std::string outcome(const Evaluated& result) {
  return result.error.empty() ? "ok " + to_text(result.value) : "error " + result.error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  SyntaxError syntax;
  std::shared_ptr<const Expr> expr = Expr::parse(text, syntax);
  if (!expr) {
    FUZZ_CHECK(syntax.column >= 1 && syntax.column <= code_points(text) + 1);
    FUZZ_CHECK(!syntax.message.empty());
    return 0;
  }
  Plan plan;
  const std::vector<std::string>& names = expr->names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (!is_reserved_var_name(names[i])) plan.vars[names[i]] = value_for(i, names);
  Host host;
  host.name = "web1";
  const VarContext context{&plan, &host, nullptr, "run"};
  std::string first;
  for (int round = 0; round < 2; ++round) {
    VarScope scope(context);
    scope.host_failed = round == 1;  // status functions aside, the same result
    Evaluated result = expr->evaluate(scope);
    if (!result.error.empty())
      FUZZ_CHECK(result.error.starts_with("column ") || result.error.starts_with("variable ") ||
                 result.error.starts_with("undefined variable ") ||
                 result.error.starts_with("in the value of "));
    std::string said = outcome(result);
    if (expr->uses_status()) break;
    if (round == 0)
      first = said;
    else
      FUZZ_CHECK(said == first);
  }
  // The same text as a template reference: never a crash, and the same answer twice.
  const std::string reference = "{{" + text + "}}";
  FUZZ_CHECK(interpolate(reference, context).text == interpolate(reference, context).text);
  return 0;
}
