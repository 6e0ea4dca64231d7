// SPDX-License-Identifier: MIT
// A parsed JSON file (plan or inventory), locations inside it, and the error list they feed.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/diagnostic.hpp"
#include "plan/source_map.hpp"

namespace deployd::plan {

/// nlohmann's JSON with objects in document order (tasks keep the order they are written in).
using Json = nlohmann::ordered_json;

/// One JSON file as read: its name, its text's source map and its value (null if unparsable).
struct Document {
  std::string file;
  SourceMap map;
  Json root;
  bool is_parsed = false;
  /// Built from another format (an Ansible inventory): its JSON pointers mean nothing to the
  /// user, so diagnostics give only the line:column placed in `map`.
  bool is_translated = false;
};

/// A place in a document: which file, and the JSON pointer inside it.
struct Where {
  const Document* doc = nullptr;
  std::string pointer;

  /// `at /hosts/2`, or `in inv.json at /hosts/2` when `from` is another document.
  std::string describe(const Document* from) const;
};

/// A JSON value together with where it stands.
struct Node {
  const Json* json = nullptr;
  Where where;

  const Json& value() const { return *json; }
  const std::string& pointer() const { return where.pointer; }
  /// The member `key` of this object (which must exist).
  Node child(std::string_view key) const;
  /// The element `index` of this list.
  Node item(std::size_t index) const;
  /// The member `key` if this is an object that has it.
  std::optional<Node> find(std::string_view key) const;
};

/// Every error found so far; located with each document's source map.
class Diagnostics {
 public:
  /// An error about the value at `where`.
  void error(const Where& where, std::string message);
  /// An error about a member's key (e.g. an unknown key): the object's pointer, the key's position.
  void key_error(const Where& object, std::string_view key, std::string message);
  /// An error about a whole file, or (with an empty file) about the command line.
  void file_error(std::string file, std::string message);
  /// A diagnostic located by the caller.
  void add(Diagnostic diagnostic);

  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  /// The errors sorted by file and position, at most `limit` of them.
  std::vector<Diagnostic> sorted(std::size_t limit) const;

 private:
  std::vector<Diagnostic> errors_;
};

/// Reads `text` as JSON with comments; a syntax error is reported with its line:column.
std::unique_ptr<Document> parse_document(std::string text, std::string file, Diagnostics& diags);

}  // namespace deployd::plan
