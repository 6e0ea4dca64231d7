// SPDX-License-Identifier: MIT
// Masking known secret values in the texts of events.
#include "base/secret_mask.hpp"

#include <algorithm>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace deployd::base {

namespace {

// The host an event concerns, or null for events that carry no text to mask.
const std::string* host_of(const Event& event) {
  return std::visit(
      [](const auto& body) -> const std::string* {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, Output> || std::is_same_v<Body, StepStart> ||
                      std::is_same_v<Body, StepEnd> || std::is_same_v<Body, HostEnd>)
          return &body.host;
        return nullptr;
      },
      event.body);
}

}  // namespace

void SecretMask::add(const std::string& value, const std::string& host) {
  std::vector<std::string> patterns;
  // Each line on its own; the whole value too, unless it is so large that its lines must do
  // (it would double the automaton's memory; only its newlines may then stay visible).
  bool is_covered = value.size() > kMaxWholeValue;
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t end = value.find('\n', start);
    if (end == std::string::npos) end = value.size();
    std::string line = value.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line.size() < kMinLength) is_covered = false;
    if (line.size() != value.size()) patterns.push_back(std::move(line));
    start = end + 1;
  }
  if (!is_covered) patterns.push_back(value);
  add_patterns(std::move(patterns), host);
}

void SecretMask::add_exact(const std::string& text, const std::string& host) {
  add_patterns({text}, host);
}

void SecretMask::add_patterns(std::vector<std::string> patterns, const std::string& host) {
  std::vector<std::string> everywhere;
  std::vector<std::string> on_host;
  for (std::string& pattern : patterns) {
    if (pattern.size() < kMinLength) continue;
    const bool is_everywhere = host.empty() || pattern.size() >= kMinEveryHostLength;
    (is_everywhere ? everywhere : on_host).push_back(std::move(pattern));
  }
  if (!everywhere.empty()) every_host_.queue(std::move(everywhere));
  if (!on_host.empty()) by_host_[host].queue(std::move(on_host));
  is_building_ = true;
  if (!post_) {
    build(PatternSet::kNoLimit);
  } else if (!is_slice_posted_) {
    build_slice();
  }
}

bool SecretMask::build(std::uint64_t budget) {
  auto spend = [&](PatternSet& set) {
    const std::uint64_t before = set.steps();
    set.build(budget);
    budget -= std::min(budget, std::max<std::uint64_t>(set.steps() - before, 1));
  };
  if (every_host_.is_building()) spend(every_host_);
  for (auto& [host, set] : by_host_)
    if (budget > 0 && set.is_building()) spend(set);
  is_building_ = every_host_.is_building() ||
                 std::any_of(by_host_.begin(), by_host_.end(),
                             [](const auto& entry) { return entry.second.is_building(); });
  return !is_building_;
}

void SecretMask::build_slice() {
  is_slice_posted_ = false;
  if (!build(kSliceSteps)) {
    is_slice_posted_ = true;
    post_([weak = std::weak_ptr<SecretMask*>(self_)] {
      if (auto self = weak.lock()) (*self)->build_slice();
    });
    return;
  }
  while (!held_.empty() && !is_building()) {
    Event event = std::move(held_.front());
    held_.pop_front();
    pass_on(event);
  }
}

void SecretMask::flush() {
  build(PatternSet::kNoLimit);
  while (!held_.empty()) {
    pass_on(held_.front());
    held_.pop_front();
  }
}

void SecretMask::finish() {
  flush();
  next_.finish();
}

std::string SecretMask::mask(std::string text, const std::string& host) const {
  // +1 where a match begins, -1 where it ends: a byte is covered while the sum is positive.
  std::vector<int> depth;
  auto on_match = [&](std::size_t begin, std::size_t end) {
    if (depth.empty()) depth.assign(text.size() + 1, 0);
    ++depth[begin];
    --depth[end];
  };
  every_host_.scan(text, on_match);
  if (auto found = by_host_.find(host); !host.empty() && found != by_host_.end())
    found->second.scan(text, on_match);
  if (depth.empty()) return text;
  std::string out;
  out.reserve(text.size());
  int covered = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool was_covered = covered > 0;
    covered += depth[i];
    if (covered == 0)
      out += text[i];
    else if (!was_covered)
      out += kMask;
  }
  return out;
}

std::uint64_t SecretMask::steps() const {
  std::uint64_t steps = every_host_.steps();
  for (const auto& [host, set] : by_host_) steps += set.steps();
  return steps;
}

void SecretMask::on(const Event& event) {
  // Behind events held back, and any event may carry a value of the addition being built.
  if (!held_.empty() || is_building()) {
    held_.push_back(event);
    return;
  }
  pass_on(event);
}

void SecretMask::pass_on(const Event& event) {
  const std::string* host = host_of(event);
  if (host == nullptr || (every_host_.empty() && !by_host_.contains(*host))) return next_.on(event);
  Event masked = event;
  std::visit(
      [&](auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, Output>) body.line = mask(std::move(body.line), *host);
        if constexpr (std::is_same_v<Body, StepStart>)
          body.name = mask(std::move(body.name), *host);
        if constexpr (std::is_same_v<Body, StepEnd> || std::is_same_v<Body, HostEnd>)
          body.error = mask(std::move(body.error), *host);
      },
      masked.body);
  next_.on(masked);
}

}  // namespace deployd::base
