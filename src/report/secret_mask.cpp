// SPDX-License-Identifier: MIT
// Masking known secret values in the texts of events.
#include "report/secret_mask.hpp"

#include <algorithm>
#include <string>
#include <type_traits>
#include <variant>

namespace deployd::report {

void SecretMask::add(const std::string& value) {
  add_one(value);
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t end = value.find('\n', start);
    if (end == std::string::npos) end = value.size();
    std::string line = value.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    add_one(std::move(line));
    start = end + 1;
  }
}

void SecretMask::add_one(std::string value) {
  if (value.size() < kMinLength) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  auto longer = [&](const std::string& known) { return known.size() >= value.size(); };
  auto at = std::partition_point(values_.begin(), values_.end(), longer);
  values_.insert(at, std::move(value));
}

std::string SecretMask::mask(std::string text) const {
  for (const std::string& value : values_) {
    for (std::size_t at = text.find(value); at != std::string::npos; at = text.find(value, at)) {
      text.replace(at, value.size(), kMask);
      at += std::char_traits<char>::length(kMask);
    }
  }
  return text;
}

void SecretMask::on(const Event& event) {
  if (values_.empty()) return next_.on(event);
  Event masked = event;
  std::visit(
      [this](auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, Output>) body.line = mask(std::move(body.line));
        if constexpr (std::is_same_v<Body, StepStart>) body.name = mask(std::move(body.name));
        if constexpr (std::is_same_v<Body, StepEnd> || std::is_same_v<Body, HostEnd>)
          body.error = mask(std::move(body.error));
      },
      masked.body);
  next_.on(masked);
}

}  // namespace deployd::report
