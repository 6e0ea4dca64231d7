// SPDX-License-Identifier: MIT
// Template scanning and variable lookup (plan-format.md, "Variables").
#include "plan/vars.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// One piece of a template: literal text, or a `{{ name }}` reference.
struct Piece {
  std::string_view text;  ///< as written (for a reference, including the braces)
  std::string_view name;  ///< the trimmed name; empty for literal text
  bool is_malformed = false;
};

// Splits `text` into literal pieces and references; `\{{` yields the literal `{{`.
template <typename Visit>
void scan(std::string_view text, Visit&& visit) {
  std::size_t literal_start = 0;
  std::size_t pos = 0;
  auto flush = [&](std::size_t end) {
    if (end > literal_start)
      visit(Piece{text.substr(literal_start, end - literal_start), {}, false});
  };
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    if (pos > 0 && text[pos - 1] == '\\') {
      flush(pos - 1);  // drop the backslash, keep the braces as text
      literal_start = pos;
      pos += 2;
      continue;
    }
    flush(pos);
    std::size_t close = text.find("}}", pos + 2);
    std::size_t end = close == std::string_view::npos ? text.size() : close + 2;
    std::string_view inner =
        text.substr(pos + 2, close == std::string_view::npos ? 0 : close - pos - 2);
    std::size_t first = inner.find_first_not_of(' ');
    std::size_t last = inner.find_last_not_of(' ');
    std::string_view name =
        first == std::string_view::npos ? "" : inner.substr(first, last - first + 1);
    bool is_malformed = close == std::string_view::npos || !is_valid_var_name(name);
    visit(Piece{text.substr(pos, end - pos), is_malformed ? "" : name, is_malformed});
    pos = literal_start = end;
  }
  flush(text.size());
}

std::optional<std::string> lookup_builtin(std::string_view name, const VarContext& ctx) {
  if (name == "run.id") return ctx.run_id;
  if (!ctx.host) return std::nullopt;
  const Host& host = *ctx.host;
  if (name == "host") return host.name;
  if (name == "host.address") return host.address;
  if (name == "host.port") return std::to_string(host.port);
  if (name == "host.user") return host.user;
  return std::nullopt;
}

std::optional<std::string> find_in(const VarMap* vars, std::string_view name) {
  if (!vars) return std::nullopt;
  auto found = vars->find(std::string(name));
  if (found == vars->end()) return std::nullopt;
  return found->second;
}

}  // namespace

std::optional<std::string> lookup_var(std::string_view name, const VarContext& ctx) {
  if (is_reserved_var_name(name)) return lookup_builtin(name, ctx);
  if (ctx.plan)
    if (auto value = find_in(&ctx.plan->overrides, name)) return value;
  if (auto value = find_in(ctx.registered, name)) return value;
  if (ctx.host)
    if (auto value = find_in(&ctx.host->vars, name)) return value;
  if (ctx.plan) return find_in(&ctx.plan->vars, name);
  return std::nullopt;
}

Interpolated interpolate(std::string_view text, const VarContext& ctx) {
  Interpolated result;
  scan(text, [&](const Piece& piece) {
    if (piece.name.empty()) {
      result.text += piece.text;
    } else if (auto value = lookup_var(piece.name, ctx)) {
      result.text += *value;
    } else {
      result.text += piece.text;
      result.missing.emplace_back(piece.name);
    }
  });
  return result;
}

std::vector<std::string> referenced_vars(std::string_view text) {
  std::vector<std::string> names;
  scan(text, [&](const Piece& piece) {
    if (!piece.name.empty() && std::find(names.begin(), names.end(), piece.name) == names.end())
      names.emplace_back(piece.name);
  });
  return names;
}

std::string template_error(std::string_view text) {
  std::string error;
  scan(text, [&](const Piece& piece) {
    if (!piece.is_malformed || !error.empty()) return;
    error = fmt::format("bad variable reference {} (write \\{{{{ for a literal {{{{)",
                        quote(piece.text));
  });
  return error;
}

const std::vector<std::string>& builtin_vars() {
  static const std::vector<std::string> names = {"host", "host.address", "host.port", "host.user",
                                                 "run.id"};
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
  return name == "host" || name == "run" || name.starts_with("host.") || name.starts_with("run.");
}

}  // namespace deployd::plan
