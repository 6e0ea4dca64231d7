// SPDX-License-Identifier: MIT
// The live status line of a run (see progress_reporter.hpp).
#include "report/progress_reporter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "report/escape.hpp"
#include "report/status_line.hpp"
#include "report/time_text.hpp"

namespace deployd::report {

namespace {

std::int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// Cut to `columns` code points, never inside a UTF-8 character.
std::string cut(std::string text, std::size_t columns) {
  if (columns == 0) return text;
  std::size_t seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (seen++ == columns) {
      text.resize(i);
      break;
    }
  }
  return text;
}

}  // namespace

ProgressReporter::ProgressReporter(StatusLine& line, ProgressOptions options)
    : line_(line), options_(std::move(options)) {
  for (std::size_t i = 0; i < options_.hosts.size(); ++i) host_order_.emplace(options_.hosts[i], i);
  total_ = static_cast<int>(options_.hosts.size());
}

ProgressReporter::HostProgress& ProgressReporter::host(const std::string& name) {
  auto [it, is_new] = hosts_.try_emplace(name);
  if (is_new) {
    if (auto order = host_order_.find(name); order != host_order_.end()) {
      last_started_ = std::max(last_started_, order->second + 1);
    }
  }
  return it->second;
}

void ProgressReporter::on(const Event& event) {
  if (!has_started_) first_event_ = event.time;
  has_started_ = true;
  if (const auto* e = std::get_if<RunStart>(&event.body)) {
    total_ = std::max(total_, e->hosts);
  } else if (const auto* e = std::get_if<StepStart>(&event.body)) {
    if (e->host == kLocalHost) return;
    HostProgress& progress = host(e->host);
    progress.is_on_step = true;
    progress.step = fmt::format("{} step {}", e->task, e->step + 1);
    progress.step_started = event.time;
  } else if (const auto* e = std::get_if<StepEnd>(&event.body)) {
    if (e->host != kLocalHost) host(e->host).is_on_step = false;
  } else if (const auto* e = std::get_if<HostEnd>(&event.body)) {
    if (e->host == kLocalHost) return;
    HostProgress& progress = host(e->host);
    if (progress.is_ended) return;
    progress.is_ended = true;
    progress.is_on_step = false;
    ++ended_;
    if (e->status == HostStatus::Failed || e->status == HostStatus::Unreachable) ++failed_;
  } else if (std::holds_alternative<RunEnd>(event.body)) {
    finish();
  }
}

void ProgressReporter::finish() {
  is_finished_ = true;
  line_.clear();
}

void ProgressReporter::tick(Clock::time_point now, std::size_t columns) {
  if (is_finished_ || !has_started_) return;
  // One column fewer than the terminal: writing the last one makes some terminals wrap.
  line_.show(cut(text(now), columns > 1 ? columns - 1 : columns));
}

std::string ProgressReporter::text(Clock::time_point now) const {
  const int started = static_cast<int>(hosts_.size());
  const int running = started - ended_;
  const int waiting = std::max(0, total_ - started);
  std::string text = fmt::format("[{} done, {} failed, {} running, {} waiting]", ended_ - failed_,
                                 failed_, running, waiting);
  const std::vector<std::size_t>& waves = options_.wave_ends;
  if (waves.size() > 1 && last_started_ > 0) {
    const auto wave =
        std::upper_bound(waves.begin(), waves.end(), last_started_ - 1) - waves.begin();
    text += fmt::format(" wave {}/{}", wave + 1, waves.size());
  }
  const std::int64_t elapsed_ms = ms_between(first_event_, now);
  if (ended_ > 0 && elapsed_ms > 0) {
    const double rate = ended_ * 1000.0 / static_cast<double>(elapsed_ms);
    text += fmt::format(", {:.1f} hosts/s", rate);
    if (total_ > ended_) {
      const auto eta_ms = static_cast<std::int64_t>((total_ - ended_) * 1000.0 / rate);
      text += ", ETA " + format_duration(eta_ms);
    }
  }
  return text + slowest_text(now);
}

std::string ProgressReporter::slowest_text(Clock::time_point now) const {
  std::vector<std::pair<std::int64_t, const std::string*>> slow;
  for (const auto& [name, progress] : hosts_) {
    if (progress.is_on_step) slow.emplace_back(ms_between(progress.step_started, now), &name);
  }
  const std::size_t shown = std::min(options_.slowest, slow.size());
  if (shown == 0) return {};
  std::partial_sort(slow.begin(), slow.begin() + static_cast<std::ptrdiff_t>(shown), slow.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : *a.second < *b.second;
                    });
  std::string text = ", slowest:";
  for (std::size_t i = 0; i < shown; ++i) {
    const HostProgress& progress = hosts_.at(*slow[i].second);
    text += fmt::format("{} {} {} {}", i == 0 ? "" : ",", escape_terminal(*slow[i].second),
                        format_duration(slow[i].first), escape_terminal(progress.step));
  }
  return text;
}

}  // namespace deployd::report
