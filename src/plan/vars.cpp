// SPDX-License-Identifier: MIT
// Template scanning and variable lookup (plan-format.md, "Variables").
#include "plan/vars.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fmt/ranges.h>

#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// One piece of a template: literal text, or a `{{ name | filter | ... }}` reference.
struct Piece {
  std::string_view text;  ///< as written (for a reference, including the braces)
  std::string_view name;  ///< the trimmed name; empty for literal text
  bool is_malformed = false;
  std::vector<std::string_view> filters;  ///< trimmed filter names, applied left to right
};

std::string_view trimmed(std::string_view text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

bool is_filter_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Splits `text` into literal pieces and references; `\{{` yields the literal `{{`.
template <typename Visit>
void scan(std::string_view text, Visit&& visit) {
  std::size_t literal_start = 0;
  std::size_t pos = 0;
  auto flush = [&](std::size_t end) {
    if (end > literal_start)
      visit(Piece{text.substr(literal_start, end - literal_start), {}, false, {}});
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
    std::size_t bar = inner.find('|');
    std::string_view name = trimmed(inner.substr(0, bar));
    bool is_malformed = close == std::string_view::npos || !is_valid_var_name(name);
    std::vector<std::string_view> filters;
    while (bar != std::string_view::npos) {
      const std::size_t next = inner.find('|', bar + 1);
      const std::string_view filter =
          trimmed(inner.substr(bar + 1, next == std::string_view::npos ? inner.npos : next - bar - 1));
      if (!is_filter_name(filter)) is_malformed = true;
      filters.push_back(filter);
      bar = next;
    }
    visit(Piece{text.substr(pos, end - pos), is_malformed ? "" : name, is_malformed,
                is_malformed ? std::vector<std::string_view>{} : std::move(filters)});
    pos = literal_start = end;
  }
  flush(text.size());
}

// The filters of plan-format.md ("Filters"); `raw` marks a registered value as meant to be
// shell text in a `local` command.
const std::vector<std::string>& filter_names() {
  static const std::vector<std::string> names = {"q", "raw"};
  return names;
}

bool is_known_filter(std::string_view name) {
  return std::find(filter_names().begin(), filter_names().end(), name) != filter_names().end();
}

std::string apply_filter(std::string_view filter, std::string value) {
  if (filter == "q") return shell_quoted(value);
  return value;  // raw
}

std::optional<std::string> lookup_builtin(std::string_view name, const VarContext& ctx) {
  if (name == "run.id") return ctx.run_id;
  if (name == "delegate") return ctx.delegate.empty() ? std::nullopt : std::optional(ctx.delegate);
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

namespace {

// lookup_var, also saying whether the value is a registered one (command output).
std::optional<std::string> lookup(std::string_view name, const VarContext& ctx, bool& is_output) {
  is_output = false;
  if (is_reserved_var_name(name)) return lookup_builtin(name, ctx);
  if (auto value = find_in(ctx.loop, name)) return value;
  if (ctx.plan)
    if (auto value = find_in(&ctx.plan->overrides, name)) return value;
  if (auto value = find_in(ctx.registered, name)) {
    is_output = true;
    return value;
  }
  if (ctx.host)
    if (auto value = find_in(&ctx.host->vars, name)) return value;
  if (ctx.plan) return find_in(&ctx.plan->vars, name);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> lookup_var(std::string_view name, const VarContext& ctx) {
  bool is_output = false;
  return lookup(name, ctx, is_output);
}

Interpolated interpolate(std::string_view text, const VarContext& ctx) {
  Interpolated result;
  scan(text, [&](const Piece& piece) {
    bool is_output = false;
    std::optional<std::string> value;
    const bool filters_known = std::all_of(piece.filters.begin(), piece.filters.end(), is_known_filter);
    if (!piece.name.empty() && filters_known) value = lookup(piece.name, ctx, is_output);
    if (piece.name.empty()) {
      result.text += piece.text;
    } else if (value) {
      if (is_output)
        result.from_output.push_back(OutputValue{std::string(piece.name), *value, !piece.filters.empty()});
      for (std::string_view filter : piece.filters) value = apply_filter(filter, std::move(*value));
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
    if (!error.empty()) return;
    if (piece.is_malformed) {
      error = fmt::format("bad variable reference {} (write \\{{{{ for a literal {{{{)",
                          quote(piece.text));
      return;
    }
    for (std::string_view filter : piece.filters) {
      if (is_known_filter(filter)) continue;
      error = fmt::format("unknown filter {} in {}{} (filters: {})", quote(filter), quote(piece.text),
                          did_you_mean(filter, filter_names()), fmt::join(filter_names(), ", "));
      return;
    }
  });
  return error;
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
                                                 "host.user", "run.id",       "delegate"};
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
