// SPDX-License-Identifier: MIT
// Members of a JSON object read leniently, for the run folder's files (events, summary), which
// may come from an older or a killed run: a member that is missing or of another type reads as
// the fallback, and the caller decides what that means.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace deployd::report {

inline std::string string_or_empty(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline int int_or(const nlohmann::json& j, const char* key, int fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

}  // namespace deployd::report
