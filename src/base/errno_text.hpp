// SPDX-License-Identifier: MIT
// An errno value as message text.
#pragma once

#include <string>

namespace deployd::base {

/// strerror's text starting lower-case, since it goes mid-sentence: "cannot read x: no such
/// file or directory".
std::string errno_text(int error);

}  // namespace deployd::base
