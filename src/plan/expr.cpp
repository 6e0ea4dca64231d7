// SPDX-License-Identifier: MIT
// Expressions: a tokenizer and recursive-descent parser into a flat node list (parsed once at
// load), and an evaluator over a Scope (per host, per step).
#include "plan/expr.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

#include "plan/filters.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

enum class Op { Literal, List, Var, Not, And, Or, Compare, In, NotIn, Call, Filter };

struct Expr::Node {
  Op op = Op::Literal;
  std::string
      text;  ///< Literal: the value; Var: the name; Compare: the operator; Call, Filter: the name
  std::vector<int> args;  ///< operands; a filter's subject first, then its arguments
  std::size_t column = 0;
  bool may_be_undefined = false;  ///< Var: inside defined(), or before a `default` filter
};

Expr::Expr() = default;
Expr::~Expr() = default;
Expr::Expr(Expr&&) noexcept = default;
Expr& Expr::operator=(Expr&&) noexcept = default;

namespace {

// Deep enough for any real condition; a cap keeps recursion on user input bounded.
constexpr int kMaxExprDepth = 64;

struct Missing {
  std::string name;
};

struct ParseError {
  std::size_t offset;
  std::string message;
};

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c) || c == '-' || c == '.'; }

// 1-based, counted in code points, as line:column are.
std::size_t column_of(std::string_view text, std::size_t offset) {
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  return column;
}

enum class Tok { Name, String, Number, Punct, End };

struct Token {
  Tok kind = Tok::End;
  std::string text;  ///< a name, a string's value, a number or the punctuation
  std::size_t offset = 0;
};

std::string describe(const Token& token) {
  if (token.kind == Tok::End) return "the end";
  if (token.kind == Tok::String) return fmt::format("the string {}", quote(token.text));
  return quote(token.text);
}

const std::vector<std::string> kFunctions = {"defined", "contains", "startswith", "endswith",
                                             "length",  "success",  "failure",    "always"};

std::size_t arity(std::string_view function) {
  if (function == "success" || function == "failure" || function == "always") return 0;
  if (function == "defined" || function == "length") return 1;
  return 2;
}

}  // namespace

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) { advance(); }

  std::shared_ptr<const Expr> parse() {
    auto expr = std::shared_ptr<Expr>(new Expr());
    expr_ = expr.get();
    expr->text_ = std::string(text_);
    if (token_.kind == Tok::End) throw ParseError{0, "empty expression"};
    expr->root_ = parse_or(0);
    if (token_.kind != Tok::End)
      throw ParseError{token_.offset, fmt::format("unexpected {} after the expression{}",
                                                  describe(token_), hint(token_))};
    auto add = [](std::vector<std::string>& names, const std::string& name) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    };
    for (const Expr::Node& node : expr->nodes_) {  // in the order written
      if (node.op != Op::Var) continue;
      if (!node.may_be_undefined) add(expr->names_, node.text);
      add(expr->every_name_, node.text);
    }
    return expr;
  }

 private:
  // --- tokens ---
  void advance() {
    std::size_t i = pos_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n')) ++i;
    token_ = Token{Tok::End, "", i};
    if (i >= text_.size()) {
      pos_ = i;
      return;
    }
    const char c = text_[i];
    if (is_name_start(c)) {
      std::size_t end = i;
      while (end < text_.size() && is_name_char(text_[end])) ++end;
      token_ = Token{Tok::Name, std::string(text_.substr(i, end - i)), i};
      pos_ = end;
    } else if (is_digit(c) || (c == '-' && i + 1 < text_.size() && is_digit(text_[i + 1]))) {
      std::size_t end = i + 1;
      while (end < text_.size() && (is_digit(text_[end]) || text_[end] == '.')) ++end;
      token_ = Token{Tok::Number, std::string(text_.substr(i, end - i)), i};
      pos_ = end;
      if (!is_number_text(token_.text))
        throw ParseError{i, fmt::format("bad number {}", quote(token_.text))};
    } else if (c == '\'' || c == '"') {
      read_string(i);
    } else {
      read_punct(i);
    }
  }

  static bool is_number_text(std::string_view text) {
    double number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    return error == std::errc() && end == text.data() + text.size() && text.back() != '.';
  }

  void read_string(std::size_t start) {
    const char quote_char = text_[start];
    std::string value;
    for (std::size_t i = start + 1; i < text_.size(); ++i) {
      char c = text_[i];
      if (c == quote_char) {
        token_ = Token{Tok::String, std::move(value), start};
        pos_ = i + 1;
        return;
      }
      if (c == '\\' && i + 1 < text_.size()) {
        c = text_[++i];
        value += c == 'n' ? '\n' : c == 't' ? '\t' : c;
      } else {
        value += c;
      }
    }
    throw ParseError{start, "unterminated string"};
  }

  void read_punct(std::size_t i) {
    static const std::vector<std::string> kTwo = {"==", "!=", "<=", ">="};
    const std::string_view two = text_.substr(i, 2);
    if (std::find(kTwo.begin(), kTwo.end(), two) != kTwo.end()) {
      token_ = Token{Tok::Punct, std::string(two), i};
      pos_ = i + 2;
      return;
    }
    const char c = text_[i];
    if (std::string_view("<>()[],|").find(c) == std::string_view::npos) {
      std::string shown(1, c);
      if ((static_cast<unsigned char>(c) & 0x80) != 0) {
        std::size_t end = i + 1;
        while (end < text_.size() && (static_cast<unsigned char>(text_[end]) & 0xC0) == 0x80) ++end;
        shown = std::string(text_.substr(i, end - i));
      }
      const char* why = c == '='   ? " (write \"==\" to compare)"
                        : c == '!' ? " (write \"not\" or \"!=\")"
                        : c == '&' ? " (write \"and\")"
                                   : "";
      throw ParseError{i, fmt::format("unexpected {}{}", quote(shown), c == '|' ? "" : why)};
    }
    token_ = Token{Tok::Punct, std::string(1, c), i};
    pos_ = i + 1;
  }

  bool is_punct(std::string_view text) const {
    return token_.kind == Tok::Punct && token_.text == text;
  }
  bool is_word(std::string_view text) const {
    return token_.kind == Tok::Name && token_.text == text;
  }

  static std::string hint(const Token& token) {
    if (token.kind == Tok::Name && (token.text == "&&" || token.text == "AND"))
      return " (write \"and\")";
    return token.kind == Tok::Name || token.kind == Tok::String || token.kind == Tok::Number
               ? " (a missing operator?)"
               : "";
  }

  void expect(std::string_view punct, std::string_view what) {
    if (!is_punct(punct))
      throw ParseError{token_.offset, fmt::format("expected {} {}, found {}", quote(punct), what,
                                                  describe(token_))};
    advance();
  }

  // --- nodes ---
  int add(Op op, std::string text, std::vector<int> args, std::size_t offset) {
    expr_->nodes_.push_back(
        Expr::Node{op, std::move(text), std::move(args), column_of(text_, offset)});
    return static_cast<int>(expr_->nodes_.size()) - 1;
  }

  void enter(std::size_t offset, int depth) const {
    if (depth > kMaxExprDepth)
      throw ParseError{offset, fmt::format("nested more than {} deep", kMaxExprDepth)};
  }

  int parse_or(int depth) {
    enter(token_.offset, depth);
    int left = parse_and(depth + 1);
    while (is_word("or")) {
      std::size_t at = token_.offset;
      advance();
      left = add(Op::Or, "or", {left, parse_and(depth + 1)}, at);
    }
    return left;
  }

  int parse_and(int depth) {
    int left = parse_not(depth + 1);
    while (is_word("and")) {
      std::size_t at = token_.offset;
      advance();
      left = add(Op::And, "and", {left, parse_not(depth + 1)}, at);
    }
    return left;
  }

  int parse_not(int depth) {
    enter(token_.offset, depth);
    if (!is_word("not")) return parse_comparison(depth + 1);
    std::size_t at = token_.offset;
    advance();
    return add(Op::Not, "not", {parse_not(depth + 1)}, at);
  }

  int parse_comparison(int depth) {
    int left = parse_filtered(depth + 1);
    static const std::vector<std::string> kOps = {"==", "!=", "<", "<=", ">", ">="};
    const std::size_t at = token_.offset;
    if (token_.kind == Tok::Punct &&
        std::find(kOps.begin(), kOps.end(), token_.text) != kOps.end()) {
      std::string op = token_.text;
      advance();
      return add(Op::Compare, op, {left, parse_filtered(depth + 1)}, at);
    }
    if (is_word("in")) {
      advance();
      return add(Op::In, "in", {left, parse_filtered(depth + 1)}, at);
    }
    if (is_word("not")) {
      advance();
      if (!is_word("in"))
        throw ParseError{token_.offset,
                         fmt::format("expected \"in\" after \"not\", found {}", describe(token_))};
      advance();
      return add(Op::NotIn, "not in", {left, parse_filtered(depth + 1)}, at);
    }
    return left;
  }

  int parse_filtered(int depth) {
    int subject = parse_primary(depth + 1);
    while (is_punct("|")) {
      advance();
      if (token_.kind != Tok::Name)
        throw ParseError{token_.offset, fmt::format("expected a filter name after \"|\", found {}",
                                                    describe(token_))};
      const Token name = token_;
      if (!is_filter(name.text))
        throw ParseError{
            name.offset,
            fmt::format("unknown filter {}{} (filters: {})", quote(name.text),
                        did_you_mean(name.text, filter_names()), fmt::join(filter_names(), ", "))};
      advance();
      std::vector<int> args{subject};
      if (is_punct("(")) read_args(args, depth);
      const std::size_t expected = filter_arity(name.text);
      if (args.size() - 1 > expected || (args.size() - 1 < expected && name.text != "join"))
        throw ParseError{name.offset,
                         fmt::format("filter {} takes {} argument{}, got {}", quote(name.text),
                                     expected, expected == 1 ? "" : "s", args.size() - 1)};
      if (name.text == "default") may_be_undefined(subject);
      subject = add(Op::Filter, name.text, std::move(args), name.offset);
    }
    return subject;
  }

  void read_args(std::vector<int>& args, int depth) {
    advance();  // (
    if (!is_punct(")")) {
      args.push_back(parse_or(depth + 1));
      while (is_punct(",")) {
        advance();
        args.push_back(parse_or(depth + 1));
      }
    }
    expect(")", "to close the arguments");
  }

  int parse_primary(int depth) {
    const Token token = token_;
    if (token.kind == Tok::String || token.kind == Tok::Number) {
      advance();
      return add(Op::Literal, token.text, {}, token.offset);
    }
    if (is_punct("(")) {
      advance();
      int inner = parse_or(depth + 1);
      expect(")", "to close the parenthesis");
      return inner;
    }
    if (is_punct("[")) return parse_list(depth);
    if (token.kind != Tok::Name || is_keyword(token.text))
      throw ParseError{token.offset, fmt::format("expected a value, found {}", describe(token))};
    advance();
    if (token.text == "true" || token.text == "false")
      return add(Op::Literal, token.text, {}, token.offset);
    if (is_punct("(")) return parse_call(token, depth);
    check_name(token);
    return add(Op::Var, token.text, {}, token.offset);
  }

  int parse_list(int depth) {
    const std::size_t at = token_.offset;
    advance();
    std::vector<int> items;
    if (!is_punct("]")) {
      items.push_back(parse_or(depth + 1));
      while (is_punct(",")) {
        advance();
        items.push_back(parse_or(depth + 1));
      }
    }
    expect("]", "to close the list");
    return add(Op::List, "", std::move(items), at);
  }

  int parse_call(const Token& name, int depth) {
    if (std::find(kFunctions.begin(), kFunctions.end(), name.text) == kFunctions.end())
      throw ParseError{
          name.offset,
          fmt::format("unknown function {}{} (functions: {})", quote(name.text),
                      did_you_mean(name.text, kFunctions), fmt::join(kFunctions, ", "))};
    std::vector<int> args;
    read_args(args, depth);
    if (args.size() != arity(name.text))
      throw ParseError{name.offset,
                       fmt::format("{}() takes {} argument{}, got {}", name.text, arity(name.text),
                                   arity(name.text) == 1 ? "" : "s", args.size())};
    if (name.text == "defined") {
      if (expr_->nodes_[static_cast<std::size_t>(args[0])].op != Op::Var)
        throw ParseError{name.offset, "defined() takes a variable name, e.g. defined(version)"};
      may_be_undefined(args[0]);  // that is the question
    }
    if (arity(name.text) == 0) expr_->uses_status_ = true;
    return add(Op::Call, name.text, std::move(args), name.offset);
  }

  void check_name(const Token& token) {
    const std::string& name = token.text;
    if (name.back() == '.' || name.back() == '-' || name.find("..") != std::string::npos)
      throw ParseError{token.offset, fmt::format("bad name {}", quote(name))};
  }

  static bool is_keyword(std::string_view word) {
    return word == "and" || word == "or" || word == "not" || word == "in";
  }

  // `defined(x)`, `x | default('y')`: x may have no value.
  void may_be_undefined(int node) {
    Expr::Node& subject = expr_->nodes_[static_cast<std::size_t>(node)];
    if (subject.op == Op::Var) subject.may_be_undefined = true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  Token token_;
  Expr* expr_ = nullptr;
};

std::string SyntaxError::to_string() const { return fmt::format("column {}: {}", column, message); }

std::shared_ptr<const Expr> Expr::parse(std::string_view text, SyntaxError& error) {
  try {
    return Parser(text).parse();
  } catch (const ParseError& failure) {
    error = SyntaxError{column_of(text, failure.offset), failure.message};
    return nullptr;
  }
}

namespace {

std::optional<double> number_of(const Value& value) {
  if (!value.is_text() || value.text.empty()) return std::nullopt;
  const std::string& text = value.text;
  double number = 0;
  const char* begin = text.data() + (text.front() == '+' ? 1 : 0);
  auto [end, error] = std::from_chars(begin, text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

Value boolean(bool value) { return Value(value ? "true" : "false"); }

const char* kind_name(const Value& value) {
  return value.kind == Value::Kind::List     ? "a list"
         : value.kind == Value::Kind::Object ? "an object"
                                             : "a text";
}

bool equal(const Value& a, const Value& b) {
  if (a.is_text() && b.is_text()) {
    auto x = number_of(a);
    auto y = number_of(b);
    if (x && y) return *x == *y;
    return a.text == b.text;
  }
  return a == b;
}

bool contains(const Value& haystack, const Value& needle) {
  if (haystack.kind == Value::Kind::List)
    return std::any_of(haystack.items.begin(), haystack.items.end(),
                       [&](const Value& item) { return equal(item, needle); });
  if (haystack.kind == Value::Kind::Object)
    return needle.is_text() && haystack.member(needle.text) != nullptr;
  return needle.is_text() && haystack.text.find(needle.text) != std::string::npos;
}

}  // namespace

class Evaluator {
 public:
  Evaluator(const Expr& expr, Scope& scope) : expr_(expr), scope_(scope) {}

  Value eval(int index) {
    const Expr::Node& node = expr_.nodes_[static_cast<std::size_t>(index)];
    switch (node.op) {
      case Op::Literal:
        return Value(node.text);
      case Op::List: {
        std::vector<Value> items;
        for (int arg : node.args) items.push_back(eval(arg));
        return Value::list(std::move(items));
      }
      case Op::Var: {
        std::optional<Value> value = scope_.lookup(node.text);
        if (!value) throw Missing{node.text};
        return std::move(*value);
      }
      case Op::Not:
        return boolean(!is_true(eval(node.args[0])));
      case Op::And:
        return boolean(is_true(eval(node.args[0])) && is_true(eval(node.args[1])));
      case Op::Or:
        return boolean(is_true(eval(node.args[0])) || is_true(eval(node.args[1])));
      case Op::Compare:
        return compare(node);
      case Op::In:
        return boolean(contains(eval(node.args[1]), eval(node.args[0])));
      case Op::NotIn:
        return boolean(!contains(eval(node.args[1]), eval(node.args[0])));
      case Op::Call:
        return call(node);
      case Op::Filter:
        return filter(node);
    }
    return Value();
  }

 private:
  [[noreturn]] void fail(const Expr::Node& node, std::string message) const {
    throw EvalError{fmt::format("column {}: {}", node.column, message)};
  }

  Value compare(const Expr::Node& node) {
    const Value a = eval(node.args[0]);
    const Value b = eval(node.args[1]);
    const std::string& op = node.text;
    if (op == "==") return boolean(equal(a, b));
    if (op == "!=") return boolean(!equal(a, b));
    if (!a.is_text() || !b.is_text())
      fail(node,
           fmt::format("{} cannot compare {} with {}", quote(op), kind_name(a), kind_name(b)));
    int order = 0;
    auto x = number_of(a);
    auto y = number_of(b);
    if (x && y)
      order = *x < *y ? -1 : *x > *y ? 1 : 0;
    else
      order = a.text.compare(b.text) < 0 ? -1 : a.text == b.text ? 0 : 1;
    if (op == "<") return boolean(order < 0);
    if (op == "<=") return boolean(order <= 0);
    if (op == ">") return boolean(order > 0);
    return boolean(order >= 0);
  }

  Value call(const Expr::Node& node) {
    const std::string& name = node.text;
    if (name == "success") return boolean(!scope_.host_failed);
    if (name == "failure") return boolean(scope_.host_failed);
    if (name == "always") return boolean(true);
    if (name == "defined")
      return boolean(
          scope_.lookup(expr_.nodes_[static_cast<std::size_t>(node.args[0])].text).has_value());
    if (name == "length") return Value(std::to_string(length_of(eval(node.args[0]))));
    const Value a = eval(node.args[0]);
    const Value b = eval(node.args[1]);
    if (name == "contains") return boolean(contains(a, b));
    if (!a.is_text() || !b.is_text())
      fail(node,
           fmt::format("{}() takes two texts, got {} and {}", name, kind_name(a), kind_name(b)));
    if (name == "startswith") return boolean(a.text.starts_with(b.text));
    return boolean(a.text.ends_with(b.text));  // endswith
  }

  Value filter(const Expr::Node& node) {
    Value subject;
    if (node.text == "default") {
      try {
        subject = eval(node.args[0]);
      } catch (const Missing&) {
        return eval(node.args[1]);
      }
      return subject;
    }
    subject = eval(node.args[0]);
    std::vector<Value> args;
    for (std::size_t i = 1; i < node.args.size(); ++i) args.push_back(eval(node.args[i]));
    std::string error;
    Value result = apply_filter(node.text, subject, args, error);
    if (!error.empty()) fail(node, error);
    return result;
  }

  const Expr& expr_;
  Scope& scope_;
};

Evaluated Expr::evaluate(Scope& scope) const {
  Evaluated result;
  try {
    Evaluator evaluator(*this, scope);
    const Node& root = nodes_[static_cast<std::size_t>(root_)];
    if (root.op == Op::Filter && (root.text == "q" || root.text == "raw")) {
      Value subject = evaluator.eval(root.args[0]);
      result.before_quoting = to_text(subject);
      std::string error;
      result.value = apply_filter(root.text, subject, {}, error);
    } else {
      result.value = evaluator.eval(root_);
    }
  } catch (const Missing& missing) {
    result.missing = missing.name;
    result.error = fmt::format("variable {} has no value", quote(missing.name));
  } catch (const EvalError& failure) {
    result.error = failure.message;
    result.error_is_whole = failure.is_whole;
  }
  return result;
}

bool is_true(const Value& value) {
  if (!value.is_text()) return !value.items.empty();
  if (value.text.empty() || value.text == "false") return false;
  auto number = number_of(value);
  return !number || *number != 0;
}

const std::vector<std::string>& function_names() { return kFunctions; }

}  // namespace deployd::plan
