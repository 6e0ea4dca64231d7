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

bool is_terminal_control(std::string_view text, std::size_t at, std::size_t length) {
  const unsigned char lead = byte_at(text, at);
  if (length == 1) return (lead < 0x20 && lead != '\t') || lead == 0x7F;
  return length == 2 && lead == 0xC2 && byte_at(text, at + 1) < 0xA0;  // U+0080..U+009F
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
