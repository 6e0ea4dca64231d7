// SPDX-License-Identifier: MIT
// UTF-8 validation and `\xNN` escaping of bytes for JSON and terminals (see escape.hpp).
#include "report/escape.hpp"

namespace deployd::report {

namespace {

unsigned char byte_at(std::string_view text, std::size_t at) {
  return static_cast<unsigned char>(text[at]);
}

void append_hex(std::string& out, unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 0x0F];
}

char32_t code_point_at(std::string_view text, std::size_t at, std::size_t length) {
  static constexpr unsigned char kLeadMask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t code_point = byte_at(text, at) & kLeadMask[length];
  for (std::size_t i = 1; i < length; ++i) code_point = (code_point << 6) | (byte_at(text, at + i) & 0x3F);
  return code_point;
}

bool is_terminal_control(std::string_view text, std::size_t at, std::size_t length) {
  const unsigned char lead = byte_at(text, at);
  if (length == 1) return (lead < 0x20 && lead != '\t') || lead == 0x7F;
  if (length == 2 && lead == 0xC2 && byte_at(text, at + 1) < 0xA0) return true;  // U+0080..U+009F
  return is_invisible_format(code_point_at(text, at, length));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string escape(std::string_view bytes, bool for_terminal) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::size_t length = utf8_sequence_length(bytes, at);
    if (length == 0 || (for_terminal && is_terminal_control(bytes, at, length))) {
      const std::size_t end = length == 0 ? at + 1 : at + length;
      for (; at < end; ++at) append_hex(out, byte_at(bytes, at));
      continue;
    }
    if (bytes[at] == '\\' && at + 1 < bytes.size() && bytes[at + 1] == 'x') {
      append_hex(out, '\\');  // a literal `\x...` must not read as an escaped byte
      ++at;
      continue;
    }
    out.append(bytes.substr(at, length));
    at += length;
  }
  return out;
}

}  // namespace

// RFC 3629, section 4: the lead byte fixes the length and the range of the second byte.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const unsigned char lead = byte_at(text, at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, an overlong C0/C1, or F5..FF
  }
  if (text.size() - at < length) return 0;
  const unsigned char second = byte_at(text, at + 1);
  if (second < low || second > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if ((byte_at(text, at + i) & 0xC0) != 0x80) return 0;
  }
  return length;
}

std::string escape_json(std::string_view bytes) { return escape(bytes, false); }

std::string escape_terminal(std::string_view bytes) { return escape(bytes, true); }

std::string unescape_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] == '\\' && at + 3 < text.size() && text[at + 1] == 'x') {
      const int high = hex_value(text[at + 2]);
      const int low = hex_value(text[at + 3]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        at += 3;
        continue;
      }
    }
    out += text[at];
  }
  return out;
}

bool is_invisible_format(char32_t c) {
  return c == 0x00AD || c == 0x061C || c == 0x180E || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF ||
         (c >= 0xFFF9 && c <= 0xFFFB);
}

std::string_view last_segment(std::string_view line) {
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t cr = line.rfind('\r');
  return cr == std::string_view::npos ? line : line.substr(cr + 1);
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

}  // namespace deployd::report
