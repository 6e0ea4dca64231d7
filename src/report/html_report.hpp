// SPDX-License-Identifier: MIT
// A recorded run as ONE self-contained HTML file: header, task grid, failures (static HTML,
// readable without JavaScript), then the timeline and each host's output (drawn lazily by the
// page's script from a JSON block). Nothing is loaded from the network: a Content-Security-
// Policy forbids it, and every text from the run is escaped (HTML here, textContent in the page).
#pragma once

#include <string>
#include <string_view>

#include "report/recorded_run.hpp"

namespace deployd::report {

/// The whole HTML document.
std::string render_html_report(const RecordedRun& run);

/// `text` with & < > " ' as character references: safe in element content and in quoted
/// attribute values.
std::string escape_html(std::string_view text);

}  // namespace deployd::report
