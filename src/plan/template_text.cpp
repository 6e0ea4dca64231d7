// SPDX-License-Identifier: MIT
// Template files: a lexer (text, `{{ }}`, `{% %}`, `{# #}`, whitespace control), a parser into
// a tree of text, outputs, ifs and fors, and a renderer over a Scope (plan-format.md, *Templates*).
#include "plan/template_text.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/suggest.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

struct TextTemplate::Node {
  enum class Kind { Text, Output, If, For };
  /// One `if`/`elif`/`else` and what it renders.
  struct Branch {
    std::shared_ptr<const Expr> condition;  ///< null: `else`
    std::vector<Node> body;
  };
  Kind kind = Kind::Text;
  std::string text;  ///< Text: the literal; For: `NAME in LIST` as written (for messages)
  std::shared_ptr<const Expr> expr;  ///< Output: the value; For: the list
  int line = 0;
  int column = 0;
  std::vector<Branch> branches;   ///< If
  std::vector<std::string> vars;  ///< For: the loop variable, or the key and value variables
  std::vector<Node> body;         ///< For
};

TextTemplate::TextTemplate() = default;
TextTemplate::~TextTemplate() = default;

std::string TemplateError::to_string() const {
  return fmt::format("{}:{}: {}", line, column, message);
}

namespace {

// Deep enough for any real template; a cap keeps recursion on user input bounded.
constexpr std::size_t kMaxTemplateDepth = 64;

const std::vector<std::string> kTags = {"if", "elif", "else", "endif", "for", "endfor"};

struct Failure {
  std::size_t offset;
  std::string message;
};

enum class TokKind { Text, Newline, Output, Tag, Comment };

struct TemplateToken {
  TokKind kind = TokKind::Text;
  std::string text;          ///< Text: the literal (escapes applied)
  std::string_view content;  ///< Output, Tag, Comment: between the delimiters and `-` marks
  std::size_t offset = 0;    ///< where the token starts in the template
  bool trim_before = false;  ///< `{%-`: whitespace before it goes
  bool trim_after = false;   ///< `-%}`: whitespace after it goes
  bool is_removed = false;
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_space(char c) { return is_blank(c) || c == '\n'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Splits the template into tokens; literal text is cut at each newline, which is a token of its
// own, so the line rule below sees lines.
std::vector<TemplateToken> lex(std::string_view text) {
  std::vector<TemplateToken> tokens;
  std::string literal;
  auto flush = [&] {
    std::size_t start = 0;
    while (start < literal.size()) {
      const std::size_t newline = literal.find('\n', start);
      const std::size_t end = newline == std::string::npos ? literal.size() : newline;
      if (end > start)
        tokens.push_back(TemplateToken{TokKind::Text, literal.substr(start, end - start)});
      if (newline == std::string::npos) break;
      tokens.push_back(TemplateToken{TokKind::Newline, "\n"});
      start = newline + 1;
    }
    literal.clear();
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    const char next = pos + 1 < text.size() ? text[pos + 1] : '\0';
    const char after = pos + 2 < text.size() ? text[pos + 2] : '\0';
    if (text[pos] == '\\' && next == '{' && (after == '{' || after == '%' || after == '#')) {
      literal += text.substr(pos + 1, 2);  // `\{{` is a literal `{{`, as in step strings
      pos += 3;
      continue;
    }
    if (text[pos] != '{' || (next != '{' && next != '%' && next != '#')) {
      literal += text[pos++];
      continue;
    }
    flush();
    const std::string_view close = next == '{' ? "}}" : next == '%' ? "%}" : "#}";
    std::size_t end = text.find(close, pos + 2);
    if (end == std::string_view::npos)
      throw Failure{pos, fmt::format("unclosed \"{{{}\" (write \\{{{} for a literal {{{})", next,
                                     next, next)};
    TemplateToken tok{next == '{'   ? TokKind::Output
                      : next == '%' ? TokKind::Tag
                                    : TokKind::Comment};
    tok.offset = pos;
    std::size_t start = pos + 2;
    const std::size_t closing = end;
    tok.trim_before = start < end && text[start] == '-';
    if (tok.trim_before) ++start;
    tok.trim_after = end > start && text[end - 1] == '-';
    if (tok.trim_after) --end;
    tok.content = text.substr(start, end - start);
    tokens.push_back(tok);
    pos = closing + 2;
  }
  flush();
  return tokens;
}

// plan-format.md, *Templates*: a line that holds only block tags and comments (and spaces or
// tabs) gives no output line, as Jinja's trim_blocks and lstrip_blocks do together.
void remove_tag_lines(std::vector<TemplateToken>& tokens) {
  std::size_t start = 0;
  while (start < tokens.size()) {
    std::size_t end = start;
    bool has_tag = false;
    bool is_blank_otherwise = true;
    for (; end < tokens.size() && tokens[end].kind != TokKind::Newline; ++end) {
      const TemplateToken& tok = tokens[end];
      if (tok.kind == TokKind::Tag || tok.kind == TokKind::Comment) has_tag = true;
      if (tok.kind == TokKind::Output) is_blank_otherwise = false;
      if (tok.kind == TokKind::Text && !std::all_of(tok.text.begin(), tok.text.end(), is_blank))
        is_blank_otherwise = false;
    }
    if (has_tag && is_blank_otherwise) {
      for (std::size_t i = start; i < end; ++i)
        if (tokens[i].kind == TokKind::Text) tokens[i].is_removed = true;
      if (end < tokens.size()) tokens[end].is_removed = true;  // its newline
    }
    start = end + 1;
  }
}

// `{%-` and `-%}` (and in `{{ }}`, `{# #}`): every whitespace on that side goes, newlines too.
void apply_trim_marks(std::vector<TemplateToken>& tokens) {
  auto strip = [&](std::size_t i, bool from_end) {
    TemplateToken& tok = tokens[i];
    if (tok.is_removed || tok.kind == TokKind::Output || tok.kind == TokKind::Tag ||
        tok.kind == TokKind::Comment)
      return tok.is_removed;  // removed: go on past it; a tag: stop
    std::string& text = tok.text;
    if (from_end)
      while (!text.empty() && is_space(text.back())) text.pop_back();
    else
      text.erase(0, std::min(text.size(), static_cast<std::size_t>(
                                              std::find_if_not(text.begin(), text.end(), is_space) -
                                              text.begin())));
    tok.is_removed = text.empty();
    return tok.is_removed;
  };
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].trim_before)
      for (std::size_t j = i; j-- > 0 && strip(j, true);) {
      }
    if (tokens[i].trim_after)
      for (std::size_t j = i + 1; j < tokens.size() && strip(j, false); ++j) {
      }
  }
}

}  // namespace

// Builds the tree from the tokens, with a stack of the open `if` and `for` blocks.
class TemplateParser {
 public:
  explicit TemplateParser(std::string_view text) : text_(text) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::shared_ptr<const TextTemplate> parse(TemplateError& error) {
    auto result = std::shared_ptr<TextTemplate>(new TextTemplate());
    result_ = result.get();
    try {
      std::vector<TemplateToken> tokens = lex(text_);
      remove_tag_lines(tokens);
      apply_trim_marks(tokens);
      for (const TemplateToken& tok : tokens)
        if (!tok.is_removed) add(tok);
      if (!open_.empty()) {
        const Open& open = open_.back();
        throw Failure{open.offset, fmt::format("{{% {} %}} is never closed (no {{% end{} %}})",
                                               open.keyword, open.keyword)};
      }
    } catch (const Failure& failure) {
      place(failure.offset, error.line, error.column);
      error.message = failure.message;
      return nullptr;
    }
    return result;
  }

 private:
  using Node = TextTemplate::Node;

  struct Open {
    Node* node;
    std::string keyword;  ///< if, for
    std::size_t offset;
    bool has_else = false;
    /// if: the names the open branch's condition tests with defined() or default, which its
    /// body may read without their being defined everywhere
    std::vector<std::string> guarded;
  };

  // `{% if defined(x) %}{{ x }}{% endif %}`: the names a condition only tests.
  static std::vector<std::string> guarded_by(const Expr* condition) {
    std::vector<std::string> names;
    if (!condition) return names;
    const std::vector<std::string>& sure = condition->names();
    for (const std::string& name : condition->every_name())
      if (std::find(sure.begin(), sure.end(), name) == sure.end()) names.push_back(name);
    return names;
  }

  void place(std::size_t offset, int& line, int& column) const {
    const auto after = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const std::size_t start = *(after - 1);
    line = static_cast<int>(after - line_starts_.begin());
    column = 1;
    for (std::size_t i = start; i < offset && i < text_.size(); ++i)
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  }

  std::vector<Node>& body() {
    if (open_.empty()) return result_->nodes_;
    Node& node = *open_.back().node;
    return node.kind == Node::Kind::If ? node.branches.back().body : node.body;
  }

  void add(const TemplateToken& tok) {
    if (tok.kind == TokKind::Comment) return;
    if (tok.kind == TokKind::Text || tok.kind == TokKind::Newline) {
      std::vector<Node>& nodes = body();
      if (nodes.empty() || nodes.back().kind != Node::Kind::Text) nodes.push_back(Node{});
      nodes.back().text += tok.text;
      return;
    }
    const std::size_t inner = static_cast<std::size_t>(tok.content.data() - text_.data());
    if (tok.kind == TokKind::Output) {
      Node node{Node::Kind::Output};
      node.expr = expression(tok.content, inner);
      // Placed at the expression, where the load-time check places its names.
      place(inner + std::min(tok.content.find_first_not_of(" \t\r\n"), tok.content.size()),
            node.line, node.column);
      body().push_back(std::move(node));
      return;
    }
    add_tag(tok, trim(tok.content));
  }

  // An expression of a tag, its names noted for the load-time check.
  std::shared_ptr<const Expr> expression(std::string_view text, std::size_t offset) {
    offset += std::min(text.find_first_not_of(" \t\r\n"), text.size());
    text = trim(text);
    SyntaxError error;
    std::shared_ptr<const Expr> expr = Expr::parse(text, error);
    if (!expr) {
      std::size_t at = 0;  // the error's column (code points) as a byte offset
      for (std::size_t column = 1; at < text.size() && column < error.column; ++column) {
        ++at;
        while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
      }
      throw Failure{offset + at, error.message};
    }
    int line = 0;
    int column = 0;
    place(offset, line, column);
    const std::vector<std::string>& sure = expr->names();
    for (const std::string& name : expr->every_name())
      if (!is_local(name))
        result_->names_.push_back(TemplateName{
            name, line, column, std::find(sure.begin(), sure.end(), name) == sure.end()});
    return expr;
  }

  bool is_local(const std::string& name) const {
    for (const Open& open : open_) {
      std::vector<std::string> locals = open.guarded;
      if (open.keyword == "for") {
        locals.insert(locals.end(), open.node->vars.begin(), open.node->vars.end());
        locals.push_back("loop");
      }
      for (const std::string& local : locals)
        if (name == local || name.starts_with(local + ".")) return true;
    }
    return false;
  }

  void add_tag(const TemplateToken& tok, std::string_view content) {
    std::size_t word_end = 0;
    while (word_end < content.size() && content[word_end] >= 'a' && content[word_end] <= 'z')
      ++word_end;
    const std::string keyword(content.substr(0, word_end));
    std::string_view rest = content.substr(word_end);
    const std::size_t rest_at = static_cast<std::size_t>(rest.data() - text_.data());
    const bool needs_rest = keyword == "if" || keyword == "elif" || keyword == "for";
    if (std::find(kTags.begin(), kTags.end(), keyword) == kTags.end() ||
        (!rest.empty() && !is_space(rest.front())))
      throw Failure{tok.offset, unknown_tag(content)};
    if (needs_rest && trim(rest).empty())
      throw Failure{tok.offset, fmt::format("{{% {} %}} needs {}", keyword,
                                            keyword == "for" ? "\"NAME in LIST\"" : "a condition")};
    if (!needs_rest && !trim(rest).empty())
      throw Failure{
          static_cast<std::size_t>(trim(rest).data() - text_.data()),
          fmt::format("unexpected {} after {{% {} %}}", quote(std::string(trim(rest))), keyword)};
    if (keyword == "if") return open_block(tok, keyword, rest, rest_at);
    if (keyword == "for") return open_block(tok, keyword, rest, rest_at);
    if (keyword == "elif" || keyword == "else") return add_branch(tok, keyword, rest, rest_at);
    close_block(tok, keyword);
  }

  std::string unknown_tag(std::string_view content) const {
    std::string_view word = content.substr(0, content.find_first_of(" \t\r\n"));
    return fmt::format("unknown tag {}{} (tags: if, elif, else, endif, for, endfor)",
                       quote(std::string(word)), did_you_mean(std::string(word), kTags));
  }

  void open_block(const TemplateToken& tok, const std::string& keyword, std::string_view rest,
                  std::size_t rest_at) {
    if (open_.size() >= kMaxTemplateDepth)
      throw Failure{tok.offset, fmt::format("blocks nested more than {} deep", kMaxTemplateDepth)};
    Node node{keyword == "if" ? Node::Kind::If : Node::Kind::For};
    place(tok.offset, node.line, node.column);
    if (keyword == "if") {
      node.branches.push_back({expression(rest, rest_at), {}});
    } else {
      read_for(node, rest, rest_at);
    }
    std::vector<Node>& nodes = body();
    nodes.push_back(std::move(node));
    open_.push_back(Open{&nodes.back(), keyword, tok.offset});
    if (keyword == "if")
      open_.back().guarded = guarded_by(nodes.back().branches[0].condition.get());
  }

  // `for NAME in LIST` or `for KEY, VALUE in OBJECT`.
  void read_for(Node& node, std::string_view rest, std::size_t rest_at) {
    node.text = std::string(trim(rest));
    std::size_t pos = 0;
    auto skip_blanks = [&] {
      while (pos < rest.size() && is_space(rest[pos])) ++pos;
    };
    auto bad = [&](std::string what) { return Failure{rest_at + pos, std::move(what)}; };
    for (;;) {
      skip_blanks();
      std::size_t end = pos;
      while (end < rest.size() && !is_space(rest[end]) && rest[end] != ',') ++end;
      const std::string name(rest.substr(pos, end - pos));
      if (!is_valid_var_name(name) || name.find('.') != std::string::npos ||
          is_reserved_var_name(name) || name == "loop")
        throw bad(
            fmt::format("bad loop variable name {} (use letters, digits, \"_\" and \"-\"; "
                        "not \"loop\" or a built-in)",
                        quote(name)));
      node.vars.push_back(name);
      pos = end;
      skip_blanks();
      if (pos >= rest.size() || rest[pos] != ',' || node.vars.size() == 2) break;
      ++pos;
    }
    if (!rest.substr(pos).starts_with("in") || pos + 2 >= rest.size() || !is_space(rest[pos + 2]))
      throw bad("expected \"in\" after the loop variable (for NAME in LIST)");
    pos += 2;
    node.expr = expression(rest.substr(pos), rest_at + pos);
  }

  void add_branch(const TemplateToken& tok, const std::string& keyword, std::string_view rest,
                  std::size_t rest_at) {
    if (open_.empty() || open_.back().keyword != "if")
      throw Failure{tok.offset, fmt::format("{{% {} %}} outside {{% if %}}{}", keyword,
                                            open_.empty() ? "" : " (a for has no else)")};
    Open& open = open_.back();
    if (open.has_else)
      throw Failure{tok.offset, fmt::format("{{% {} %}} after {{% else %}}", keyword)};
    open.has_else = keyword == "else";
    open.node->branches.push_back({keyword == "elif" ? expression(rest, rest_at) : nullptr, {}});
    open.guarded = guarded_by(open.node->branches.back().condition.get());
  }

  void close_block(const TemplateToken& tok, const std::string& keyword) {
    const std::string opened = keyword.substr(3);
    if (open_.empty())
      throw Failure{tok.offset, fmt::format("{{% {} %}} without {{% {} %}}", keyword, opened)};
    if (open_.back().keyword != opened) {
      int line = 0;
      int column = 0;
      place(open_.back().offset, line, column);
      throw Failure{tok.offset, fmt::format("{{% {} %}} closes nothing: the {{% {} %}} at {}:{} "
                                            "is still open",
                                            keyword, open_.back().keyword, line, column)};
    }
    open_.pop_back();
  }

  std::string_view text_;
  std::vector<std::size_t> line_starts_;
  TextTemplate* result_ = nullptr;
  std::vector<Open> open_;
};

std::shared_ptr<const TextTemplate> TextTemplate::parse(std::string_view text,
                                                        TemplateError& error) {
  return TemplateParser(text).parse(error);
}

namespace {

// The host's names, under the loop variables of the `for` blocks being rendered.
class LoopScope : public Scope {
 public:
  explicit LoopScope(Scope& outer) : outer_(outer) { host_failed = outer.host_failed; }
  std::optional<Value> lookup(std::string_view name) override {
    for (auto local = locals_.rbegin(); local != locals_.rend(); ++local) {
      const std::string& bound = local->first;
      if (name == bound) return local->second;
      if (!name.starts_with(bound) || name.size() <= bound.size() || name[bound.size()] != '.')
        continue;
      const Value* member = &local->second;
      for (std::size_t start = bound.size() + 1; member && start <= name.size();) {
        const std::size_t dot = std::min(name.find('.', start), name.size());
        member = member->member(name.substr(start, dot - start));
        start = dot + 1;
      }
      return member ? std::optional<Value>(*member) : std::nullopt;
    }
    return outer_.lookup(name);
  }
  std::vector<std::pair<std::string, Value>>& locals() { return locals_; }

 private:
  Scope& outer_;
  std::vector<std::pair<std::string, Value>> locals_;
};

struct RenderStop {
  const TextTemplate::Node* node;
  std::string message;
  std::string missing;
};

}  // namespace

class TemplateRenderer {
 public:
  using Node = TextTemplate::Node;

  TemplateRenderer(Scope& scope, const TemplateLimits& limits) : scope_(scope), limits_(limits) {}

  void render(const std::vector<Node>& nodes) {
    for (const Node& node : nodes) {
      count_step(node);
      switch (node.kind) {
        case Node::Kind::Text:
          append(node, node.text);
          break;
        case Node::Kind::Output:
          append(node, to_text(evaluate(node, *node.expr)));
          break;
        case Node::Kind::If:
          for (const Node::Branch& branch : node.branches) {
            if (branch.condition && !is_true(evaluate(node, *branch.condition))) continue;
            render(branch.body);
            break;
          }
          break;
        case Node::Kind::For:
          render_for(node);
          break;
      }
    }
  }

  std::string text;

 private:
  void count_step(const Node& node) {
    if (++steps_ > limits_.max_steps)
      throw RenderStop{&node, fmt::format("rendering takes more than {} steps (loops too big?)",
                                          limits_.max_steps)};
  }

  void append(const Node& node, const std::string& piece) {
    if (text.size() + piece.size() > limits_.max_bytes)
      throw RenderStop{&node,
                       fmt::format("the rendered text is larger than {} bytes", limits_.max_bytes)};
    text += piece;
  }

  Value evaluate(const Node& node, const Expr& expr) {
    Evaluated value = expr.evaluate(scope_);
    if (value.error.empty()) return std::move(value.value);
    if (!value.missing.empty())
      throw RenderStop{&node, fmt::format("undefined variable {}", quote(value.missing)),
                       value.missing};
    if (value.error_is_whole) throw RenderStop{&node, value.error};
    throw RenderStop{&node, fmt::format("{}: {}", quote(expr.text()), value.error)};
  }

  void render_for(const Node& node) {
    const Value list = evaluate(node, *node.expr);
    if (list.is_text())
      throw RenderStop{&node, fmt::format("{{% for {} %}}: {} is a text, not a list or an object",
                                          node.text, quote(list.text))};
    const bool is_object = list.kind == Value::Kind::Object;
    if (node.vars.size() == 2 && !is_object)
      throw RenderStop{&node, fmt::format("{{% for {} %}}: two loop variables need an object "
                                          "(its keys and values), this is a list",
                                          node.text)};
    auto& locals = scope_.locals();
    const std::size_t size = list.items.size();
    for (std::size_t i = 0; i < size; ++i) {
      count_step(node);
      if (node.vars.size() == 2) {
        locals.emplace_back(node.vars[0], Value(list.keys[i]));
        locals.emplace_back(node.vars[1], list.items[i]);
      } else {
        locals.emplace_back(node.vars[0], is_object ? Value(list.keys[i]) : list.items[i]);
      }
      locals.emplace_back("loop", loop_value(i, size));
      render(node.body);
      locals.resize(locals.size() - node.vars.size() - 1);
    }
  }

  static Value loop_value(std::size_t i, std::size_t size) {
    return Value::object(
        {"index", "index0", "first", "last", "length"},
        {Value(std::to_string(i + 1)), Value(std::to_string(i)), Value(i == 0 ? "true" : "false"),
         Value(i + 1 == size ? "true" : "false"), Value(std::to_string(size))});
  }

  LoopScope scope_;
  const TemplateLimits& limits_;
  std::size_t steps_ = 0;
};

RenderedText TextTemplate::render(Scope& scope, const TemplateLimits& limits) const {
  TemplateRenderer renderer(scope, limits);
  RenderedText result;
  try {
    renderer.render(nodes_);
    result.text = std::move(renderer.text);
  } catch (const RenderStop& stop) {
    result.is_ok = false;
    result.error = TemplateError{stop.node->line, stop.node->column, stop.message, stop.missing};
  } catch (const EvalError& failure) {  // a cycle met outside an expression's own catch
    result.is_ok = false;
    result.error = TemplateError{1, 1, failure.message, ""};
  }
  return result;
}

const std::vector<std::string>& template_tags() { return kTags; }

}  // namespace deployd::plan
