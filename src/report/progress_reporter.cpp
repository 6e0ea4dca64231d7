// SPDX-License-Identifier: MIT
// The live status line of a run (see progress_reporter.hpp).
#include "report/progress_reporter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/duration_text.hpp"
#include "report/escape.hpp"
#include "report/status_line.hpp"

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
    wave_ends_ = e->wave_ends;
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
  const std::size_t width = columns > 1 ? columns - 1 : columns;
  line_.show(cut(text(now, width), width));
}

std::string ProgressReporter::text(Clock::time_point now, std::size_t columns) const {
  const int started = static_cast<int>(hosts_.size());
  const int running = started - ended_;
  int connecting = 0;  // hosts not started yet, in their first connection
  for (const Connecting& host : connecting_) connecting += hosts_.contains(host.host) ? 0 : 1;
  const int waiting = std::max(0, total_ - started - connecting);
  std::string text =
      fmt::format("[{} done, {} failed, {} running, ", ended_ - failed_, failed_, running);
  if (connecting > 0) text += fmt::format("{} connecting, ", connecting);
  text += fmt::format("{} waiting]", waiting);
  // The counts without those at 0, for a narrow terminal: `[2 done, 1 connecting]`.
  std::string compact = fmt::format("[{} done", ended_ - failed_);
  for (const auto& [count, word] : {std::pair{failed_, "failed"},
                                    {running, "running"},
                                    {connecting, "connecting"},
                                    {waiting, "waiting"}})
    if (count > 0) compact += fmt::format(", {} {}", count, word);
  compact += "]";
  const std::vector<std::size_t>& waves = wave_ends_;
  if (waves.size() > 1 && last_started_ > 0) {
    const auto wave =
        std::upper_bound(waves.begin(), waves.end(), last_started_ - 1) - waves.begin();
    text += fmt::format(" wave {}/{}", wave + 1, waves.size());
    compact += fmt::format(" wave {}/{}", wave + 1, waves.size());
  }
  std::string rate_text;
  std::string eta_text;
  const std::int64_t elapsed_ms = ms_between(first_event_, now);
  if (ended_ > 0 && elapsed_ms > 0) {
    const double rate = ended_ * 1000.0 / static_cast<double>(elapsed_ms);
    rate_text = fmt::format(", {:.1f} hosts/s", rate);
    if (total_ > ended_) {
      const auto eta_ms = static_cast<std::int64_t>((total_ - ended_) * 1000.0 / rate);
      eta_text = ", ETA " + base::elapsed_text(std::chrono::milliseconds(eta_ms));
    }
  }
  const std::vector<std::string> slow = slowest(now);
  auto line = [&](bool with_rate, bool with_eta, std::size_t shown, bool is_compact = false) {
    std::string out =
        (is_compact ? compact : text) + (with_rate ? rate_text : "") + (with_eta ? eta_text : "");
    for (std::size_t i = 0; i < shown; ++i) out += (i == 0 ? ", slowest: " : ", ") + slow[i];
    return out;
  };
  // What an 80-column terminal keeps: the counts, the slowest host, the ETA, more slow hosts,
  // and last the rate; then the counts at 0 go. What fits nowhere is cut by tick().
  std::string fitting = line(true, true, slow.size());
  if (columns == 0 || fitting.size() <= columns) return fitting;
  for (std::size_t shown = slow.size(); shown > 0; --shown)
    if ((fitting = line(false, true, shown)).size() <= columns) return fitting;
  const std::size_t one = std::min<std::size_t>(1, slow.size());
  for (bool is_compact : {false, true}) {
    if ((fitting = line(false, true, one, is_compact)).size() <= columns) return fitting;
    if ((fitting = line(false, false, one, is_compact)).size() <= columns) return fitting;
  }
  return fitting;
}

std::vector<std::string> ProgressReporter::slowest(Clock::time_point now) const {
  std::vector<std::pair<std::int64_t, const std::string*>> slow;
  for (const auto& [name, progress] : hosts_) {
    if (progress.is_on_step) slow.emplace_back(ms_between(progress.step_started, now), &name);
  }
  for (const Connecting& host : connecting_) slow.emplace_back(host.elapsed_ms, &host.host);
  const std::size_t shown = std::min(options_.slowest, slow.size());
  if (shown == 0) return {};
  std::vector<std::string> texts;
  std::partial_sort(slow.begin(), slow.begin() + static_cast<std::ptrdiff_t>(shown), slow.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : *a.second < *b.second;
                    });
  for (std::size_t i = 0; i < shown; ++i) {
    const auto found = hosts_.find(*slow[i].second);
    const bool is_on_step = found != hosts_.end() && found->second.is_on_step;
    texts.push_back(
        fmt::format("{} {} {}", escape_terminal(*slow[i].second),
                    base::elapsed_text(std::chrono::milliseconds(slow[i].first)),
                    is_on_step ? escape_terminal(found->second.step) : std::string("connecting")));
  }
  return texts;
}

}  // namespace deployd::report
