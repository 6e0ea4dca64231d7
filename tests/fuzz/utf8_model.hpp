// SPDX-License-Identifier: MIT
// An independent UTF-8 decoder for the fuzz targets' properties: written from RFC 3629 as a
// decoder of code points (not a table of lead bytes, as src/report/escape.cpp is), so that the
// two can disagree when one of them is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace deployd::fuzz {

/// A code point and the bytes it takes, or length 0 when the bytes at `at` are not valid UTF-8.
struct Decoded {
  std::uint32_t code_point = 0;
  std::size_t length = 0;
};

inline Decoded decode_utf8(std::string_view text, std::size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  std::size_t length = 0;
  std::uint32_t value = 0;
  if (lead < 0x80) return {lead, 1};
  if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07;
  } else {
    return {};
  }
  if (text.size() - at < length) return {};
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[at + i]);
    if ((byte & 0xC0) != 0x80) return {};
    value = (value << 6) | (byte & 0x3F);
  }
  static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kSmallest[length]) return {};           // overlong
  if (value >= 0xD800 && value <= 0xDFFF) return {};  // surrogate
  if (value > 0x10FFFF) return {};
  return {value, length};
}

inline bool is_valid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const Decoded d = decode_utf8(text, at);
    if (d.length == 0) return false;
    at += d.length;
  }
  return true;
}

}  // namespace deployd::fuzz
