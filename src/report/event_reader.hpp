// SPDX-License-Identifier: MIT
// Events read back from the run log's events.jsonl, to be fed to reporters again (replay).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/event.hpp"

namespace deployd::report {

/// One line of events.jsonl (event_to_json's form) back as an Event; nothing when the line is
/// not an event. Strings come back as recorded (bytes that were not UTF-8 stay `\xNN` text).
std::optional<Event> event_from_json(std::string_view line);

/// Every event of `dir/events.jsonl`, in order. A line that is not an event is skipped with a
/// warning naming `events.jsonl:LINE`. Nothing, and `error` set, when the file cannot be read.
std::optional<std::vector<Event>> read_events(const std::filesystem::path& dir,
                                              std::vector<std::string>& warnings, std::string& error);

}  // namespace deployd::report
