// SPDX-License-Identifier: MIT
// What the terminal can do (ninja's LinePrinter, reduced): detection and ANSI colours.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace deployd::report {

/// ANSI SGR parameters deployd uses.
inline constexpr std::string_view kRed = "31";
inline constexpr std::string_view kGreen = "32";
inline constexpr std::string_view kYellow = "33";  ///< a failure that does not fail the host

/// True when `out` is a terminal.
bool is_terminal(std::FILE* out);

/// Whether to colour `out`: a terminal, NO_COLOR unset or empty (no-color.org) and TERM not
/// "dumb". The CLI asks this once; reporters only take the answer.
bool color_wanted(std::FILE* out);

/// `text` wrapped in the SGR colour `sgr` and a reset when `on`, else `text` as it is.
std::string paint(std::string_view text, std::string_view sgr, bool on);

/// A stable colour for a host name: the same in every run and every reporter, never red (red
/// means failure).
std::string_view host_color(std::string_view host);

}  // namespace deployd::report
