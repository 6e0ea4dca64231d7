// SPDX-License-Identifier: MIT
// Filters: each a small function from a value (and its arguments) to a value.
#include "plan/filters.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/expr.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

namespace {

struct Filter {
  std::string name;
  std::size_t arity;
};

// `raw` marks a registered value as meant to be shell text in a `local` command (trust model).
const std::vector<Filter>& filters() {
  static const std::vector<Filter> list = {
      {"q", 0},       {"raw", 0},   {"join", 1},  {"default", 1}, {"basename", 0},
      {"dirname", 0}, {"upper", 0}, {"lower", 0}, {"replace", 2}, {"trim", 0},
      {"length", 0},  {"first", 0}, {"last", 0}};
  return list;
}

// Python's os.path.basename and dirname, as Ansible's filters are.
std::string basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string dirname(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  std::string head = path.substr(0, slash + 1);
  if (head.find_first_not_of('/') == std::string::npos) return head;
  while (head.size() > 1 && head.back() == '/') head.pop_back();
  return head;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string trimmed(const std::string& text) {
  const char* space = " \t\r\n";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

void json_string(std::string& out, const std::string& text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  out += '"';
}

void json_of(std::string& out, const Value& value) {
  if (value.is_text()) return json_string(out, value.text);
  const bool is_object = value.kind == Value::Kind::Object;
  out += is_object ? '{' : '[';
  for (std::size_t i = 0; i < value.items.size(); ++i) {
    if (i > 0) out += ',';
    if (is_object) {
      json_string(out, value.keys[i]);
      out += ':';
    }
    json_of(out, value.items[i]);
  }
  out += is_object ? '}' : ']';
}

}  // namespace

std::size_t length_of(const Value& value) {
  if (!value.is_text()) return value.items.size();
  return static_cast<std::size_t>(std::count_if(value.text.begin(), value.text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // code points, not bytes
  }));
}

std::string to_text(const Value& value) {
  if (value.is_text()) return value.text;
  std::string out;
  json_of(out, value);
  return out;
}

const std::vector<std::string>& filter_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const Filter& filter : filters()) list.push_back(filter.name);
    return list;
  }();
  return names;
}

bool is_filter(std::string_view name) {
  return std::any_of(filters().begin(), filters().end(),
                     [&](const Filter& filter) { return filter.name == name; });
}

std::size_t filter_arity(std::string_view name) {
  for (const Filter& filter : filters())
    if (filter.name == name) return filter.arity;
  return 0;
}

Value apply_filter(std::string_view name, const Value& value, const std::vector<Value>& args,
                   std::string& error) {
  if (name == "q") return Value(shell_quoted(to_text(value)));
  if (name == "raw" || name == "default") return value;
  if (name == "length") return Value(std::to_string(length_of(value)));
  if (name == "join") {
    if (value.is_text()) return value;
    const std::string separator = args.empty() ? "" : to_text(args[0]);
    std::string joined;
    for (std::size_t i = 0; i < value.items.size(); ++i)
      joined += (i > 0 ? separator : "") + to_text(value.items[i]);
    return Value(std::move(joined));
  }
  if (name == "first" || name == "last") {
    if (value.kind != Value::Kind::List) {
      error = fmt::format("filter \"{}\" needs a list", name);
      return Value();
    }
    if (value.items.empty()) return Value();
    return name == "first" ? value.items.front() : value.items.back();
  }
  if (!value.is_text()) {
    error = fmt::format("filter \"{}\" needs a text, not a {}", name,
                        value.kind == Value::Kind::List ? "list" : "object");
    return Value();
  }
  const std::string& text = value.text;
  if (name == "basename") return Value(basename(text));
  if (name == "dirname") return Value(dirname(text));
  if (name == "trim") return Value(trimmed(text));
  if (name == "replace") return Value(replaced(text, to_text(args[0]), to_text(args[1])));
  std::string changed = text;
  const bool upper = name == "upper";
  for (char& c : changed) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return Value(std::move(changed));
}

}  // namespace deployd::plan
