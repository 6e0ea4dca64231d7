// SPDX-License-Identifier: MIT
// The expression language of `when`, `changed_when`, `failed_when` and `{{ }}` (plan-format.md,
// "Expressions"): parsed once at load, evaluated per host.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::plan {

/// What names mean while an expression is evaluated (a host's variables, a step's result).
class Scope {
 public:
  virtual ~Scope() = default;
  /// The value of `name` (dotted paths included), or nullopt if it has none. May throw
  /// EvalError (a cycle among variables).
  virtual std::optional<Value> lookup(std::string_view name) = 0;
  /// success(), failure(): whether an earlier step of the task failed on this host.
  bool host_failed = false;
};

/// An evaluation that cannot go on: the message is whole (`variable cycle: a -> b -> a`).
struct EvalError {
  std::string message;
  bool is_whole = false;  ///< says all (a cycle): not to be wrapped in where it was met
};

/// The outcome of an evaluation.
struct Evaluated {
  Value value;
  std::string error;            ///< empty on success
  std::string missing;          ///< a name without a value (error says so too)
  bool error_is_whole = false;  ///< EvalError::is_whole
  /// The outermost filter is `q` or `raw`: what it was applied to (the trust model's checks).
  std::optional<std::string> before_quoting;
};

/// Why an expression does not parse, and where: a 1-based column in its text (code points).
struct SyntaxError {
  std::size_t column = 0;
  std::string message;
  /// `column 6: unexpected "=" (write "==" to compare)`
  std::string to_string() const;
};

/// A parsed expression; immutable, shared by every host that evaluates it.
class Expr {
 public:
  struct Node;
  ~Expr();
  Expr(Expr&&) noexcept;
  Expr& operator=(Expr&&) noexcept;

  /// Parses `text`; on error, nullptr and `error` set.
  static std::shared_ptr<const Expr> parse(std::string_view text, SyntaxError& error);

  Evaluated evaluate(Scope& scope) const;
  /// Names read as variables, in order, without repeats: not the ones inside `defined(...)` or
  /// before a `default` filter, which may have no value.
  const std::vector<std::string>& names() const { return names_; }
  /// Every name it reads, those that may be undefined too (is a `--var` used?).
  const std::vector<std::string>& every_name() const { return every_name_; }
  /// It calls success(), failure() or always(): it decides itself whether a failed host runs it.
  bool uses_status() const { return uses_status_; }
  const std::string& text() const { return text_; }

 private:
  Expr();
  std::string text_;
  std::vector<Node> nodes_;
  int root_ = -1;
  std::vector<std::string> names_;
  std::vector<std::string> every_name_;
  bool uses_status_ = false;
  friend class Parser;
  friend class Evaluator;
};

/// How an expression's value reads as a condition: false, 0, "" and empty lists or objects are
/// false; everything else is true.
bool is_true(const Value& value);

/// A value as text in a template: texts as they are, lists and objects as JSON.
std::string to_text(const Value& value);

/// The filters of `{{ x | f }}` and expressions, for messages.
const std::vector<std::string>& filter_names();

/// The functions of expressions, for messages.
const std::vector<std::string>& function_names();

}  // namespace deployd::plan
