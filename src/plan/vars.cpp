// SPDX-License-Identifier: MIT
// Template scanning and variable lookup (plan-format.md, "Variables").
#include "plan/vars.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/filters.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// One piece of a template: literal text, or a `{{ EXPR }}` reference.
struct Piece {
  std::string_view text;  ///< as written (for a reference, including the braces)
  std::size_t offset = 0;  ///< where it starts in the template
  bool is_reference = false;
  bool is_unclosed = false;
  std::shared_ptr<const Expr> expr;  ///< null for literal text, or a reference that does not parse
  SyntaxError error;
};

// Splits `text` into literal pieces and references; `\{{` yields the literal `{{`.
template <typename Visit>
void scan(std::string_view text, Visit&& visit) {
  std::size_t literal_start = 0;
  std::size_t pos = 0;
  auto flush = [&](std::size_t end) {
    if (end > literal_start)
      visit(Piece{text.substr(literal_start, end - literal_start), literal_start});
  };
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    if (pos > 0 && text[pos - 1] == '\\') {
      flush(pos - 1);  // drop the backslash, keep the braces as text
      literal_start = pos;
      pos += 2;
      continue;
    }
    flush(pos);
    const std::size_t close = text.find("}}", pos + 2);
    const std::size_t end = close == std::string_view::npos ? text.size() : close + 2;
    Piece piece{text.substr(pos, end - pos), pos, true, close == std::string_view::npos};
    if (!piece.is_unclosed)
      piece.expr = Expr::parse(text.substr(pos + 2, close - pos - 2), piece.error);
    visit(piece);
    pos = literal_start = end;
  }
  flush(text.size());
}

std::optional<Value> lookup_builtin(std::string_view name, const VarContext& ctx) {
  if (name == "run.id") return Value(ctx.run_id);
  if (name == "delegate")
    return ctx.delegate.empty() ? std::nullopt : std::optional(Value(ctx.delegate));
  if (!ctx.host) return std::nullopt;
  const Host& host = *ctx.host;
  if (name == "host") return Value(host.name);
  if (name == "host.address") return Value(host.address);
  if (name == "host.port") return Value(std::to_string(host.port));
  if (name == "host.user") return Value(host.user);
  if (name == "host.groups")
    return Value::list(std::vector<Value>(host.groups.begin(), host.groups.end()));
  return std::nullopt;
}

// `groups.NAME`: a group's members; `groups`: every group. Looked up after the plan's vars, so a
// plan that defines `groups` itself keeps it.
std::optional<Value> lookup_groups(std::string_view name, const Plan& plan) {
  auto members = [](const std::vector<std::string>& names) {
    return Value::list(std::vector<Value>(names.begin(), names.end()));
  };
  if (name == "groups") {
    std::vector<std::string> keys;
    std::vector<Value> items;
    for (const auto& [group, hosts] : plan.groups) {
      keys.push_back(group);
      items.push_back(members(hosts));
    }
    return Value::object(std::move(keys), std::move(items));
  }
  if (!name.starts_with("groups.")) return std::nullopt;
  auto found = plan.groups.find(std::string(name.substr(7)));
  if (found == plan.groups.end()) return std::nullopt;
  return members(found->second);
}

template <typename Map>
const typename Map::mapped_type* find_in(const Map* vars, std::string_view name) {
  if (!vars) return nullptr;
  auto found = vars->find(std::string(name));
  return found == vars->end() ? nullptr : &found->second;
}

}  // namespace

// The unresolved value of exactly `name`, in the contract's order, or null; `owned` holds it
// when it is not the plan's own (a --var, a registered value, a built-in); `is_data`: not a
// template. A pointer, not a copy: a `when` on every step reads plan values per host.
const Value* VarScope::find(std::string_view name, std::optional<Value>& owned, bool& is_data) {
  is_data = true;
  auto own = [&](std::optional<Value> value) {
    return (owned = std::move(value)) ? &*owned : nullptr;
  };
  if (is_reserved_var_name(name)) return own(lookup_builtin(name, context_));
  // A `for_each` item: a template (a --var list's items come escaped, escaped_data).
  if (const Value* value = find_in(context_.loop, name)) {
    is_data = false;
    return value;
  }
  const Plan* plan = context_.plan;
  if (plan)
    if (const std::string* value = find_in(&plan->overrides, name)) return own(Value(*value));
  if (const std::string* value = find_in(context_.registered, name)) {
    output_names_.emplace_back(name);
    return own(Value(*value));
  }
  is_data = false;
  if (context_.host)
    if (const Value* value = find_in(&context_.host->vars, name)) return value;
  if (plan)
    if (const Value* value = find_in(&plan->vars, name)) return value;
  is_data = true;
  return plan ? own(lookup_groups(name, *plan)) : nullptr;
}

std::optional<Value> VarScope::lookup(std::string_view name) {
  if (locals_)
    if (const std::string* value = find_in(locals_, name)) return Value(*value);
  bool is_data = true;
  std::optional<Value> owned;
  const Value* root = nullptr;
  const Value* member = find_path(name, owned, is_data, root);
  if (!member) return std::nullopt;
  if (is_data) return *member;
  return resolve(*member, std::string(name), root->defined_at);
}

std::optional<Value> VarScope::find_value(std::string_view name, bool& is_data) {
  std::optional<Value> owned;
  const Value* root = nullptr;
  const Value* member = find_path(name, owned, is_data, root);
  if (!member) return std::nullopt;
  Value value = *member;
  value.defined_at = root->defined_at;
  return value;
}

// The whole name first, then ever shorter prefixes with the rest as a path into the value;
// `root` is the variable the path starts from.
const Value* VarScope::find_path(std::string_view name, std::optional<Value>& owned, bool& is_data,
                                 const Value*& root) {
  for (std::size_t end = name.size(); end != std::string_view::npos && end > 0;
       end = name.rfind('.', end - 1)) {
    const Value* found = find(name.substr(0, end), owned, is_data);
    if (!found) continue;
    const Value* member = found;
    for (std::size_t start = end + 1; member && start <= name.size();) {
      const std::size_t dot = std::min(name.find('.', start), name.size());
      member = member->member(name.substr(start, dot - start));
      start = dot + 1;
    }
    root = found;
    return member;
  }
  return nullptr;
}

// plan-format.md, "Values are templates": resolved when read, each name once on the way down.
Value VarScope::resolve(const Value& value, const std::string& key, const std::string& defined_at) {
  if (!value.is_text()) {
    Value resolved = value;
    for (std::size_t i = 0; i < resolved.items.size(); ++i)
      resolved.items[i] = resolve(
          value.items[i],
          key + "." + (value.kind == Value::Kind::Object ? value.keys[i] : std::to_string(i)),
          defined_at);
    return resolved;
  }
  if (value.text.find("{{") == std::string::npos) return value;
  for (std::size_t i = 0; i < resolving_.size(); ++i) {
    if (resolving_[i].first != key) continue;
    std::string chain;
    std::string where;
    for (std::size_t j = i; j < resolving_.size(); ++j) {
      chain += resolving_[j].first + " -> ";
      where +=
          fmt::format("{}{}: {}", j > i ? ", " : "", resolving_[j].first, resolving_[j].second);
    }
    throw EvalError{fmt::format("variable cycle: {}{} ({})", chain, key, where), true};
  }
  resolving_.emplace_back(key, defined_at);
  Interpolated inner = interpolate(value.text, *this);
  resolving_.pop_back();
  if (!inner.error.empty())
    throw EvalError{inner.error_is_whole ? inner.error
                                         : fmt::format("in the value of {} ({}): {}", quote(key),
                                                       defined_at, inner.error),
                    true};
  if (!inner.missing.empty())
    throw EvalError{fmt::format("undefined variable {} in the value of {} ({})",
                                quote(inner.missing.front()), quote(key), defined_at),
                    true};
  Value resolved(std::move(inner.text));
  resolved.defined_at = defined_at;
  return resolved;
}

Resolved resolve_var(std::string_view name, const VarContext& ctx) {
  VarScope scope(ctx);
  try {
    return Resolved{scope.lookup(name), ""};
  } catch (const EvalError& failure) {
    return Resolved{std::nullopt, failure.message};
  }
}

std::optional<std::string> lookup_var(std::string_view name, const VarContext& ctx) {
  Resolved resolved = resolve_var(name, ctx);
  if (!resolved.value) return std::nullopt;
  return to_text(*resolved.value);
}

Interpolated interpolate(std::string_view text, const VarContext& ctx) {
  VarScope scope(ctx);
  return interpolate(text, scope);
}

Interpolated interpolate(std::string_view text, VarScope& scope) {
  Interpolated result;
  scan(text, [&](const Piece& piece) {
    if (!piece.is_reference || !piece.expr) {
      result.text += piece.text;
      return;
    }
    const std::size_t outputs_before = scope.output_names().size();
    Evaluated value = piece.expr->evaluate(scope);
    if (!value.error.empty()) {
      result.text += piece.text;
      if (!value.missing.empty())
        result.missing.push_back(value.missing);
      else if (result.error.empty()) {  // a cycle, or an operator that does not apply
        result.error = value.error_is_whole ? value.error
                                            : fmt::format("{}: {}", quote(piece.text), value.error);
        result.error_is_whole = value.error_is_whole;
      }
      return;
    }
    std::string rendered = to_text(value.value);
    if (scope.output_names().size() > outputs_before) {
      const bool quoted = value.before_quoting.has_value();
      result.from_output.push_back(OutputValue{scope.output_names()[outputs_before],
                                               quoted ? *value.before_quoting : rendered, quoted});
    }
    result.text += rendered;
  });
  return result;
}

std::vector<std::string> referenced_vars(std::string_view text, bool every) {
  std::vector<std::string> names;
  scan(text, [&](const Piece& piece) {
    if (!piece.expr) return;
    for (const std::string& name : every ? piece.expr->every_name() : piece.expr->names())
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  });
  return names;
}

std::string template_error(std::string_view text) {
  std::string error;
  scan(text, [&](const Piece& piece) {
    if (!error.empty() || !piece.is_reference || piece.expr) return;
    if (piece.is_unclosed) {
      error = fmt::format("bad variable reference {} (write \\{{{{ for a literal {{{{)",
                          quote(piece.text));
      return;
    }
    // The column in the whole string: the reference's own, plus its braces.
    std::size_t column = 1;
    for (std::size_t i = 0; i < piece.offset; ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
    error = fmt::format("in {} at column {}: {}", quote(piece.text),
                        column + 1 + piece.error.column, piece.error.message);
  });
  return error;
}

Value escaped_data(Value value) {
  for (Value& item : value.items) item = escaped_data(std::move(item));
  for (std::size_t at = value.text.find("{{"); at != std::string::npos;
       at = value.text.find("{{", at + 3))
    value.text.insert(at, 1, '\\');
  return value;
}

std::string shell_quoted(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

bool is_shell_word(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._-+:/@%=,").find(c) != std::string_view::npos;
  });
}

std::string host_path_error(const OutputValue& value) {
  if (!value.value.empty() && value.value.front() == '/')
    return fmt::format("{} is an absolute path", quote(value.value));
  std::size_t start = 0;
  while (start <= value.value.size()) {
    const std::size_t end = std::min(value.value.find('/', start), value.value.size());
    if (std::string_view(value.value).substr(start, end - start) == "..")
      return fmt::format("{} has a \"..\" component", quote(value.value));
    start = end + 1;
  }
  return "";
}

const std::vector<std::string>& builtin_vars() {
  static const std::vector<std::string> names = {"host",      "host.address", "host.port",
                                                 "host.user", "host.groups",  "run.id",
                                                 "delegate"};
  return names;
}

bool is_valid_var_name(std::string_view name) {
  if (name.empty()) return false;
  char first = name.front();
  if ((first >= '0' && first <= '9') || first == '-' || first == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool is_reserved_var_name(std::string_view name) {
  return name == "host" || name == "run" || name == "delegate" || name.starts_with("host.") ||
         name.starts_with("run.");
}

}  // namespace deployd::plan
