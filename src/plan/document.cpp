// SPDX-License-Identifier: MIT
// Parsing a JSON file into a Document, and locating diagnostics with its source map.
#include "plan/document.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "plan/suggest.hpp"

namespace deployd::plan {

std::string Where::describe(const Document* from) const {
  if (doc && doc->is_translated) {
    TextPosition at = doc->map.value_position(pointer);
    if (doc == from) return fmt::format("at line {}", at.line);
    return fmt::format("in {}:{}:{}", doc->file, at.line, at.column);
  }
  if (!doc || doc == from) return "at " + pointer;
  return fmt::format("in {} at {}", doc->file, pointer);
}

Node Node::child(std::string_view key) const {
  return Node{&json->at(std::string(key)), {where.doc, append_pointer(where.pointer, key)}};
}

Node Node::item(std::size_t index) const {
  return Node{&json->at(index), {where.doc, append_pointer(where.pointer, std::to_string(index))}};
}

std::optional<Node> Node::find(std::string_view key) const {
  if (!json->is_object() || !json->contains(std::string(key))) return std::nullopt;
  return child(key);
}

void Diagnostics::error(const Where& where, std::string message) {
  Diagnostic diagnostic{.file = where.doc ? where.doc->file : "",
                        .json_pointer = where.pointer,
                        .message = std::move(message)};
  if (where.doc) {
    TextPosition position = where.doc->map.value_position(where.pointer);
    diagnostic.line = position.line;
    diagnostic.column = position.column;
    if (where.doc->is_translated) diagnostic.json_pointer.clear();
  }
  errors_.push_back(std::move(diagnostic));
}

void Diagnostics::key_error(const Where& object, std::string_view key, std::string message) {
  error(object, std::move(message));
  if (!object.doc) return;
  TextPosition position = object.doc->map.key_position(append_pointer(object.pointer, key));
  errors_.back().line = position.line;
  errors_.back().column = position.column;
}

void Diagnostics::add(Diagnostic diagnostic) { errors_.push_back(std::move(diagnostic)); }

void Diagnostics::file_error(std::string file, std::string message) {
  errors_.push_back(Diagnostic{.file = std::move(file), .message = std::move(message)});
}

std::vector<Diagnostic> Diagnostics::sorted(std::size_t limit) const {
  std::vector<Diagnostic> errors = errors_;
  std::stable_sort(errors.begin(), errors.end());
  // One written value can reach many hosts (an Ansible group's `ansible_port`): say it once.
  auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return a.file == b.file && a.line == b.line && a.column == b.column &&
           a.json_pointer == b.json_pointer && a.message == b.message;
  };
  errors.erase(std::unique(errors.begin(), errors.end(), same), errors.end());
  if (errors.size() > limit) errors.resize(limit);
  return errors;
}

namespace {

// nlohmann's text without its "[json.exception...] parse error at line 3, column 3: " prefix,
// with bytes that are not printable ASCII escaped (the message quotes raw input).
std::string syntax_message(const nlohmann::json::parse_error& error) {
  std::string_view what = error.what();
  std::size_t column = what.find(", column ");
  std::size_t start = column == std::string_view::npos ? 0 : what.find(": ", column);
  std::string_view text = start == std::string_view::npos ? what : what.substr(start + 2);
  std::string message;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    message += byte >= 0x20 && byte < 0x7F ? std::string(1, c) : fmt::format("\\x{:02x}", byte);
  }
  std::size_t dash = message.find(" - ");
  if (dash != std::string::npos) message.replace(dash, 3, ": ");
  return message;
}

// The number nlohmann found too large for a double: its out_of_range.406 quotes it, no position.
std::string_view overflowing_literal(const nlohmann::json::out_of_range& error) {
  const std::string_view what = error.what();
  const std::size_t open = what.find('\'');
  const std::size_t close = what.rfind('\'');
  if (open == std::string_view::npos || close <= open + 1) return {};
  return what.substr(open + 1, close - open - 1);
}

// Where `literal` first stands as a number token (not inside a longer number or a string).
std::size_t number_offset(std::string_view text, std::string_view literal) {
  auto is_number_char = [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
  };
  for (std::size_t at = literal.empty() ? std::string_view::npos : text.find(literal);
       at != std::string_view::npos; at = text.find(literal, at + 1)) {
    const std::size_t end = at + literal.size();
    if ((at == 0 || (!is_number_char(text[at - 1]) && text[at - 1] != '"')) &&
        (end == text.size() || !is_number_char(text[end])))
      return at;
  }
  return 0;
}

// issue 19: what a syntax error most likely means, when the parser's words do not say it.
// A `}` or `]` right after a comma is a trailing comma (JSONC allows it, JSON does not); a file
// whose first character cannot start JSON is likely a YAML plan or an INI inventory.
std::string syntax_hint(std::string_view text, std::size_t offset) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  if (offset < text.size() && (text[offset] == '}' || text[offset] == ']')) {
    std::size_t at = offset;
    while (at > 0 && is_space(text[at - 1])) --at;
    if (at > 0 && text[at - 1] == ',')
      return fmt::format("trailing comma before '{}': JSON allows none", text[offset]);
  }
  std::size_t first = 0;
  while (first < text.size() && is_space(text[first])) ++first;
  if (first == text.size() || text[first] == '{' || text[first] == '/' || text[first] == '"')
    return "";
  const std::string_view line = text.substr(first, text.find('\n', first) - first);
  const bool is_ini = line.starts_with('[') && line.size() > 1 &&
                      (std::isalpha(static_cast<unsigned char>(line[1])) || line[1] == '_') &&
                      line.find(']') != std::string_view::npos &&
                      line.find('"') == std::string_view::npos;
  const bool is_yaml = text[first] == '-' || std::isalpha(static_cast<unsigned char>(text[first]));
  if (!is_ini && !is_yaml) return "";
  return fmt::format(
      "not JSON: deployd reads JSON plans (this looks like {}); inventories, JSON, INI or YAML, "
      "go with -i",
      is_ini ? "an INI file" : "YAML");
}

Diagnostic located(const Document& doc, std::string pointer, std::size_t offset,
                   std::string message) {
  TextPosition position = doc.map.position_of(offset);
  return Diagnostic{.file = doc.file,
                    .json_pointer = std::move(pointer),
                    .line = position.line,
                    .column = position.column,
                    .message = std::move(message)};
}

}  // namespace

std::unique_ptr<Document> parse_document(std::string text, std::string file, Diagnostics& diags) {
  auto doc = std::make_unique<Document>();
  doc->file = std::move(file);
  std::size_t error_offset = 0;
  std::string error_message;
  try {
    doc->root = Json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
    doc->is_parsed = true;
  } catch (const nlohmann::json::parse_error& error) {
    // `byte` counts from 1 and points at the last character read.
    error_offset = error.byte > 0 ? error.byte - 1 : 0;
    error_message = syntax_message(error);
    if (std::string hint = syntax_hint(text, error_offset); !hint.empty()) {
      // The position the hint is about: the comma itself, or the start of the file.
      if (hint.starts_with("not JSON")) error_offset = text.find_first_not_of(" \t\r\n");
      error_message = hint + " (" + error_message + ")";
    }
  } catch (const nlohmann::json::out_of_range& error) {
    // Valid JSON, but a number no double holds (e.g. 1e999): an error, not a crash.
    const std::string_view literal = overflowing_literal(error);
    error_offset = number_offset(text, literal);
    error_message = "number out of range: " + quote(literal);
  }
  doc->map = SourceMap(std::move(text));
  if (!doc->is_parsed) {
    diags.add(located(*doc, "", error_offset, std::move(error_message)));
    return doc;
  }
  for (const SourceMap::DuplicateKey& duplicate : doc->map.duplicate_keys()) {
    diags.add(located(*doc, duplicate.object_pointer, duplicate.offset,
                      fmt::format("duplicate key {}", quote(duplicate.key))));
  }
  return doc;
}

}  // namespace deployd::plan
