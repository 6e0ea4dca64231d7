// SPDX-License-Identifier: MIT
// Terminal detection and colours (see terminal.hpp).
#include "report/terminal.hpp"

#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>

namespace deployd::report {

bool is_terminal(std::FILE* out) {
  const int fd = ::fileno(out);
  return fd >= 0 && ::isatty(fd) == 1;
}

bool color_wanted(std::FILE* out) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return is_terminal(out);
}

std::string paint(std::string_view text, std::string_view sgr, bool on) {
  if (!on) return std::string(text);
  std::string out;
  out.reserve(text.size() + sgr.size() + 7);
  out.append("\x1b[").append(sgr).append("m").append(text).append("\x1b[0m");
  return out;
}

// FNV-1a rather than std::hash, whose values may change between library versions: a host
// keeps its colour from run to run.
std::string_view host_color(std::string_view host) {
  static constexpr std::array<std::string_view, 10> kPalette = {"32", "33", "34", "35", "36",
                                                                "92", "93", "94", "95", "96"};
  std::uint32_t hash = 2166136261u;
  for (char c : host) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return kPalette[hash % kPalette.size()];
}

}  // namespace deployd::report
