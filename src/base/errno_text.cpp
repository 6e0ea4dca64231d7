// SPDX-License-Identifier: MIT
#include "base/errno_text.hpp"

#include <cctype>
#include <cstring>

namespace deployd::base {

std::string errno_text(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

}  // namespace deployd::base
