// SPDX-License-Identifier: MIT
// Typed readers for plan values, with the error wording every module shares.
#include "plan/fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "plan/duration.hpp"
#include "plan/expr.hpp"
#include "plan/suggest.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

std::string describe_value(const Json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "a list";
  if (value.is_string()) return quote(value.get<std::string>());  // controls escaped, as elsewhere
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string expected_but_got(std::string_view expected, const Json& value) {
  return fmt::format("expected {}, got {}", expected, describe_value(value));
}

void check_keys(const Node& object, const std::vector<std::string>& allowed, Diagnostics& diags) {
  for (const auto& [key, value] : object.value().items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    diags.key_error(object.where, key,
                    fmt::format("unknown key {}{}", quote(key), did_you_mean(key, allowed)));
  }
}

bool expect_object(const Node& node, Diagnostics& diags) {
  if (node.value().is_object()) return true;
  diags.error(node.where, expected_but_got("an object", node.value()));
  return false;
}

bool expect_list(const Node& node, Diagnostics& diags) {
  if (node.value().is_array()) return true;
  diags.error(node.where, expected_but_got("a list", node.value()));
  return false;
}

std::optional<std::string> read_string(const Node& node, Diagnostics& diags, bool allow_empty) {
  const Json& value = node.value();
  if (value.is_string() && (allow_empty || !value.get_ref<const std::string&>().empty()))
    return value.get<std::string>();
  diags.error(node.where, expected_but_got(allow_empty ? "a string" : "a non-empty string", value));
  return std::nullopt;
}

std::optional<bool> read_bool(const Node& node, Diagnostics& diags) {
  if (node.value().is_boolean()) return node.value().get<bool>();
  diags.error(node.where, expected_but_got("true or false", node.value()));
  return std::nullopt;
}

std::optional<int> read_int(const Node& node, Diagnostics& diags, int min, int max) {
  const Json& value = node.value();
  if (value.is_number_integer()) {
    auto number = value.get<long long>();
    if (number >= min && number <= max) return static_cast<int>(number);
  }
  std::string expected = max == INT_MAX ? fmt::format("an integer of at least {}", min)
                                        : fmt::format("an integer from {} to {}", min, max);
  diags.error(node.where, expected_but_got(expected, value));
  return std::nullopt;
}

std::optional<Duration> read_duration(const Node& node, Diagnostics& diags) {
  const Json& value = node.value();
  std::optional<Duration> duration;
  if (value.is_number()) duration = duration_from_seconds(value.get<double>());
  if (value.is_string()) duration = parse_duration(value.get_ref<const std::string&>());
  if (!duration) {
    diags.error(node.where,
                fmt::format("bad duration {} (expected seconds, or a number and a unit: "
                            "\"250ms\", \"30s\", \"5m\", \"1h\")",
                            describe_value(value)));
  }
  return duration;
}

std::optional<std::vector<std::string>> read_strings(const Node& node, Diagnostics& diags) {
  if (node.value().is_string()) {
    auto text = read_string(node, diags);
    return text ? std::optional(std::vector<std::string>{*text}) : std::nullopt;
  }
  if (node.value().is_array() && !node.value().empty()) return read_string_list(node, diags);
  diags.error(node.where,
              expected_but_got("a string or a non-empty list of strings", node.value()));
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_string_list(const Node& node, Diagnostics& diags) {
  if (!expect_list(node, diags)) return std::nullopt;
  std::vector<std::string> strings;
  bool is_ok = true;
  for (std::size_t i = 0; i < node.value().size(); ++i) {
    auto text = read_string(node.item(i), diags);
    if (text) strings.push_back(*text);
    is_ok = is_ok && text;
  }
  return is_ok ? std::optional(strings) : std::nullopt;
}

std::optional<Amount> read_amount(const Node& node, Diagnostics& diags, int min_count) {
  const Json& value = node.value();
  if (value.is_number_integer() && value.get<long long>() >= min_count &&
      value.get<long long>() <= INT_MAX)
    return Amount{static_cast<int>(value.get<long long>()), false};
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    int percent = -1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), percent);
    bool is_percent = error == std::errc() && text.size() >= 2 &&
                      end == text.data() + text.size() - 1 && text.back() == '%' &&
                      percent >= (min_count > 0 ? 1 : 0) && percent <= 100;
    if (is_percent) return Amount{percent, true};
  }
  diags.error(
      node.where,
      fmt::format("bad amount {} (expected a count of at least {}, or a percentage like \"10%\")",
                  describe_value(value), min_count));
  return std::nullopt;
}

std::optional<Condition> read_condition(const Node& node, std::string_view key,
                                        Diagnostics& diags) {
  auto text = read_string(node, diags);
  if (!text) return std::nullopt;
  SyntaxError error;
  std::shared_ptr<const Expr> expr = Expr::parse(*text, error);
  if (!expr) {
    diags.error(node.where, fmt::format("{} {}: {}", key, quote(*text), error.to_string()));
    return std::nullopt;
  }
  return Condition{*text, std::move(expr)};
}

namespace {

// Deep enough for any real value; a cap keeps recursion on user input bounded.
constexpr int kMaxValueDepth = 32;

// A JSON value as a variable's Value; null has no meaning for a variable.
std::optional<Value> read_value(const Node& node, Diagnostics& diags, int depth) {
  const Json& value = node.value();
  if (value.is_string()) return Value(value.get<std::string>());
  if (value.is_number() || value.is_boolean()) {
    // Numbers keep their spelling: "1.10" stays 1.10, not 1.1.
    std::string_view written =
        node.where.doc ? node.where.doc->map.scalar_text(node.pointer()) : std::string_view();
    return Value(written.empty() ? value.dump() : std::string(written));
  }
  if ((value.is_array() || value.is_object()) && depth >= kMaxValueDepth) {
    diags.error(node.where, fmt::format("a value nested more than {} deep", kMaxValueDepth));
    return std::nullopt;
  }
  std::vector<Value> items;
  std::vector<std::string> keys;
  if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i)
      if (auto item = read_value(node.item(i), diags, depth + 1)) items.push_back(std::move(*item));
    return Value::list(std::move(items));
  }
  if (value.is_object()) {
    for (const auto& entry : value.items()) {
      if (auto item = read_value(node.child(entry.key()), diags, depth + 1)) {
        keys.push_back(entry.key());
        items.push_back(std::move(*item));
      }
    }
    return Value::object(std::move(keys), std::move(items));
  }
  diags.error(node.where, expected_but_got("a string, number, boolean, list or object", value));
  return std::nullopt;
}

// `plan.json:12:5`: where a variable is defined, for messages about its value.
std::string defined_at(const Node& node) {
  if (!node.where.doc) return node.pointer();
  const TextPosition at = node.where.doc->map.key_position(node.pointer());
  return fmt::format("{}:{}:{}", node.where.doc->file, at.line, at.column);
}

}  // namespace

std::optional<Value> read_var_value(const Node& node, Diagnostics& diags) {
  auto value = read_value(node, diags, 0);
  if (value) value->defined_at = defined_at(node);
  return value;
}

Vars read_vars(const Node& node, Diagnostics& diags) {
  Vars vars;
  if (!expect_object(node, diags)) return vars;
  for (const auto& item : node.value().items()) {
    const std::string& name = item.key();
    if (!is_valid_var_name(name)) {
      diags.key_error(
          node.where, name,
          fmt::format("bad variable name {} (use letters, digits, \"_\", \"-\" and \".\")",
                      quote(name)));
    } else if (is_reserved_var_name(name)) {
      diags.key_error(node.where, name,
                      fmt::format("{} is a built-in variable and cannot be defined", quote(name)));
    } else if (auto value = read_value(node.child(name), diags, 0)) {
      value->defined_at = defined_at(node.child(name));
      vars[name] = std::move(*value);
    }
  }
  return vars;
}

}  // namespace deployd::plan
