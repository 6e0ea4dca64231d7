// SPDX-License-Identifier: MIT
// Optimal string alignment distance (ninja's edit_distance, plus swaps) and message quoting.
#include "plan/suggest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace deployd::plan {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the classic table are enough for adjacent swaps ("tsak" -> "task").
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[b.size()];
}

std::string suggest(std::string_view word, const std::vector<std::string>& candidates) {
  // A third of the word, at least 1 and at most 3: "rn" -> "run", but "x" is not "to".
  std::size_t allowed = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  const std::string* best = nullptr;
  std::size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    if (candidate == word) continue;
    std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best ? *best : std::string();
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string close = suggest(word, candidates);
  return close.empty() ? std::string() : " (did you mean " + quote(close) + "?)";
}

std::string quote(std::string_view text) {
  const std::string json = nlohmann::json(std::string(text))
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // dump() escapes C0 but keeps DEL and C1 (U+0080..U+009F, CSI among them) as they are, and
  // messages go to terminals: escape those too, in JSON's \u form.
  std::string quoted;
  quoted.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const auto byte = static_cast<unsigned char>(json[i]);
    const auto next = i + 1 < json.size() ? static_cast<unsigned char>(json[i + 1]) : 0;
    if (byte == 0x7F) {
      quoted += "\\u007f";
    } else if (byte == 0xC2 && next >= 0x80 && next <= 0x9F) {
      quoted += fmt::format("\\u{:04x}", next);
      ++i;
    } else {
      quoted += json[i];
    }
  }
  return quoted;
}

}  // namespace deployd::plan
