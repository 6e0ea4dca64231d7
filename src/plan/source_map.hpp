// SPDX-License-Identifier: MIT
// Maps the JSON pointers of a plan's text to line:column, since nlohmann only locates syntax
// errors.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace deployd::plan {

/// `base` with one more reference token, escaped as RFC 6901 says (`~` -> `~0`, `/` -> `~1`).
std::string append_pointer(std::string_view base, std::string_view token);

/// A 1-based line and column (counted in code points); zero when unknown.
struct TextPosition {
  int line = 0;
  int column = 0;
};

/// Where every value and object key of a JSON text (comments allowed) starts, by JSON pointer.
class SourceMap {
 public:
  /// A key that appears twice in one object (nlohmann keeps the last silently).
  struct DuplicateKey {
    std::string object_pointer;
    std::string key;
    std::size_t offset = 0;  ///< the second occurrence
  };

  SourceMap() = default;
  /// Scans `text`, which nlohmann has already accepted; stray bytes are skipped, never fatal.
  explicit SourceMap(std::string text);

  const std::string& text() const { return text_; }
  /// Records where the value at `pointer` (and its key) stand in another text: a document built
  /// from an Ansible inventory locates its values in the INI or YAML the user wrote. Once one
  /// value is placed, positions come only from placed values (the nearest enclosing one).
  void place(const std::string& pointer, TextPosition key, TextPosition value);
  /// Line:column of the value at `pointer`; {0, 0} if the pointer is not in the text.
  TextPosition value_position(std::string_view pointer) const;
  /// Line:column of the key naming the member at `pointer`; falls back to the value.
  TextPosition key_position(std::string_view pointer) const;
  /// Line:column of a byte offset into the text.
  TextPosition position_of(std::size_t offset) const;
  /// The source text of the scalar at `pointer` (e.g. `1.50` as written); empty if unknown.
  std::string_view scalar_text(std::string_view pointer) const;
  const std::vector<DuplicateKey>& duplicate_keys() const { return duplicates_; }

 private:
  struct Entry {
    std::size_t key_offset = kNone;
    std::size_t value_begin = kNone;
    std::size_t value_end = kNone;
  };
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  friend class SourceScanner;

  std::string text_;
  std::vector<std::size_t> line_starts_;
  std::unordered_map<std::string, Entry> entries_;
  std::vector<DuplicateKey> duplicates_;
  std::unordered_map<std::string, std::pair<TextPosition, TextPosition>> placed_;  ///< key, value
};

}  // namespace deployd::plan
