// SPDX-License-Identifier: MIT
// A one-pass scan of JSON text (with comments) recording where each value and key starts.
#include "plan/source_map.hpp"

#include <algorithm>
#include <unordered_set>

namespace deployd::plan {

std::string append_pointer(std::string_view base, std::string_view token) {
  std::string pointer(base);
  pointer += '/';
  for (char c : token) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
  return pointer;
}

namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// The scanner is iterative, with an explicit stack, so deeply nested input cannot overflow
// the call stack (nlohmann's parser is iterative too).
class SourceScanner {
 public:
  explicit SourceScanner(SourceMap& map) : map_(map), text_(map.text_) {
    if (text_.starts_with(kByteOrderMark)) pos_ = kByteOrderMark.size();  // nlohmann skips it too
  }

  void run() {
    std::string pointer;
    std::size_t key_offset = SourceMap::kNone;
    for (;;) {
      skip_space();
      if (at_end()) return;
      start_value(pointer, key_offset);
      if (!next_member(pointer, key_offset)) return;
    }
  }

 private:
  // Pointers grow with depth, so recording every level of absurdly deep input would take
  // quadratic memory; no plan nests this deep, and deeper values simply have no position.
  static constexpr std::size_t kMaxRecordedDepth = 256;

  struct Frame {
    bool is_object = false;
    std::string pointer;
    std::size_t index = 0;
    std::unordered_set<std::string> keys;
  };

  bool at_end() const { return pos_ >= text_.size(); }
  bool is_recorded() const { return stack_.size() < kMaxRecordedDepth; }

  void start_value(const std::string& pointer, std::size_t key_offset) {
    SourceMap::Entry ignored;
    SourceMap::Entry& entry = is_recorded() ? map_.entries_[pointer] : ignored;
    entry = {key_offset, pos_, SourceMap::kNone};
    char c = text_[pos_];
    if (c == '{' || c == '[') {
      ++pos_;
      stack_.push_back(Frame{c == '{', is_recorded() ? pointer : std::string(), 0, {}});
      return;
    }
    if (c == '"') {
      read_string();
    } else {
      while (!at_end() &&
             std::string_view(" \t\r\n,]}/").find(text_[pos_]) == std::string_view::npos)
        ++pos_;
      if (pos_ == entry.value_begin) ++pos_;  // a stray byte (invalid JSON): always make progress
    }
    entry.value_end = pos_;
  }

  // Moves to the next value to scan, closing finished containers; false at the end.
  bool next_member(std::string& pointer, std::size_t& key_offset) {
    for (;;) {
      skip_space();
      if (stack_.empty() || at_end()) return false;
      Frame& frame = stack_.back();
      char c = text_[pos_];
      if (c == ',') {
        ++pos_;
      } else if (c == (frame.is_object ? '}' : ']')) {
        ++pos_;
        if (stack_.size() <= kMaxRecordedDepth) map_.entries_[frame.pointer].value_end = pos_;
        stack_.pop_back();
      } else if (!frame.is_object) {
        pointer = append_pointer(frame.pointer, std::to_string(frame.index++));
        key_offset = SourceMap::kNone;
        return true;
      } else if (c != '"') {
        ++pos_;  // not valid JSON; skip the byte rather than fail
      } else {
        key_offset = pos_;
        std::string key = read_string();
        skip_space();
        if (!at_end() && text_[pos_] == ':') ++pos_;
        pointer = append_pointer(frame.pointer, key);
        if (is_recorded() && !frame.keys.insert(key).second)
          map_.duplicates_.push_back({frame.pointer, key, key_offset});
        return true;
      }
    }
  }

  void skip_space() {
    while (!at_end()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (text_.substr(pos_, 2) == "//") {
        std::size_t end = text_.find('\n', pos_);
        pos_ = end == std::string_view::npos ? text_.size() : end + 1;
      } else if (text_.substr(pos_, 2) == "/*") {
        std::size_t end = text_.find("*/", pos_ + 2);
        pos_ = end == std::string_view::npos ? text_.size() : end + 2;
      } else {
        return;
      }
    }
  }

  unsigned read_hex4() {
    unsigned code = 0;
    for (int k = 0; k < 4 && !at_end(); ++k) {
      int digit = hex_value(text_[pos_]);
      if (digit < 0) return code;
      code = code * 16 + static_cast<unsigned>(digit);
      ++pos_;
    }
    return code;
  }

  // Reads a string token starting at its opening quote and returns it decoded.
  std::string read_string() {
    std::string out;
    ++pos_;
    while (!at_end() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\' || at_end()) {
        out += c;
        continue;
      }
      char escaped = text_[pos_++];
      switch (escaped) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          append_utf8(out, read_code_point());
          break;
        default:
          out += escaped;
          break;
      }
    }
    if (!at_end()) ++pos_;
    return out;
  }

  unsigned read_code_point() {
    unsigned code = read_hex4();
    if (code >= 0xD800 && code < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
      pos_ += 2;
      unsigned low = read_hex4();
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    return code;
  }

  SourceMap& map_;
  std::string_view text_;
  std::size_t pos_ = 0;
  std::vector<Frame> stack_;
};

SourceMap::SourceMap(std::string text) : text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  SourceScanner(*this).run();
}

TextPosition SourceMap::position_of(std::size_t offset) const {
  offset = std::min(offset, text_.size());
  auto after = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  std::size_t line_start = *(after - 1);
  if (line_start == 0 && text_.starts_with(kByteOrderMark) && offset >= kByteOrderMark.size())
    line_start = kByteOrderMark.size();
  int column = 1;
  // Columns count code points: skip UTF-8 continuation bytes.
  for (std::size_t i = line_start; i < offset; ++i)
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  return {static_cast<int>(after - line_starts_.begin()), column};
}

void SourceMap::place(const std::string& pointer, TextPosition key, TextPosition value) {
  placed_[pointer] = {key, value};
}

TextPosition SourceMap::value_position(std::string_view pointer) const {
  if (!placed_.empty()) {
    // A value not placed itself stands inside the nearest one that is.
    for (std::string at(pointer);; at.erase(at.rfind('/'))) {
      if (auto found = placed_.find(at); found != placed_.end()) return found->second.second;
      if (at.empty()) return {};
    }
  }
  auto found = entries_.find(std::string(pointer));
  if (found == entries_.end()) return {};
  return position_of(found->second.value_begin);
}

TextPosition SourceMap::key_position(std::string_view pointer) const {
  if (!placed_.empty()) {
    auto at = placed_.find(std::string(pointer));
    if (at == placed_.end()) return value_position(pointer);
    return at->second.first.line > 0 ? at->second.first : at->second.second;
  }
  auto found = entries_.find(std::string(pointer));
  if (found == entries_.end()) return {};
  const Entry& entry = found->second;
  return position_of(entry.key_offset != kNone ? entry.key_offset : entry.value_begin);
}

std::string_view SourceMap::scalar_text(std::string_view pointer) const {
  auto found = entries_.find(std::string(pointer));
  if (found == entries_.end() || found->second.value_end == kNone) return {};
  const Entry& entry = found->second;
  return std::string_view(text_).substr(entry.value_begin, entry.value_end - entry.value_begin);
}

}  // namespace deployd::plan
