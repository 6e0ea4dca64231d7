// SPDX-License-Identifier: MIT
// The terminal timeline (see terminal_timeline.hpp).
#include "report/terminal_timeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "base/duration_text.hpp"
#include "report/escape.hpp"

namespace deployd::report {

namespace {

const char* glyph(BarStatus status) {
  switch (status) {
    case BarStatus::Ok:
      return "█";
    case BarStatus::Changed:
      return "▓";
    case BarStatus::Retried:
      return "▒";
    case BarStatus::Skipped:
      return "░";
    case BarStatus::Failed:
      return "✗";
    case BarStatus::Aborted:
      return "╳";
  }
  return "█";
}

const char* color(BarStatus status) {
  switch (status) {
    case BarStatus::Ok:
      return "\x1b[32m";
    case BarStatus::Changed:
      return "\x1b[33m";
    case BarStatus::Retried:
      return "\x1b[38;5;208m";
    case BarStatus::Skipped:
      return "\x1b[90m";
    case BarStatus::Failed:
      return "\x1b[31m";
    case BarStatus::Aborted:
      return "\x1b[35m";
  }
  return "";
}

std::int64_t host_end(const HostRecord& host) {
  return host.attempts.empty() ? host.end_ms : std::max(host.end_ms, host.attempts.back().end_ms);
}

// A string padded or cut to `width` columns.
std::string fit(const std::string& text, std::size_t width) {
  std::string out;
  std::size_t used = 0;
  for (std::size_t at = 0; at < text.size() && used < width;) {
    std::size_t length = utf8_sequence_length(text, at);
    if (length == 0) length = 1;
    if (used + 1 == width && display_width(text) > width) {
      out += "…";
      ++used;
      break;
    }
    out.append(text, at, length);
    at += length;
    ++used;
  }
  return out + std::string(width - used, ' ');
}

}  // namespace

std::string render_terminal_timeline(const RecordedRun& run, const TimelineOptions& options) {
  std::vector<std::size_t> order(run.hosts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return host_end(run.hosts[a]) > host_end(run.hosts[b]);
  });
  if (order.size() > options.hosts) order.resize(options.hosts);

  std::size_t name_width = 4;
  for (std::size_t h : order)
    name_width = std::max(name_width, display_width(escape_terminal(run.hosts[h].name)));
  name_width = std::min<std::size_t>(name_width, 24);
  // After the bar: " 12m05s never ended", the longest time and end status.
  constexpr std::size_t kTail = 1 + 7 + 1 + 11;
  const std::size_t width =
      options.columns > name_width + 1 + kTail + 10 ? options.columns - name_width - 1 - kTail : 10;
  const std::int64_t total = std::max<std::int64_t>(1, run.duration_ms);

  std::string out =
      fmt::format("{} of {} hosts, slowest first; the run took {}\n", order.size(),
                  run.hosts.size(), base::elapsed_text(std::chrono::milliseconds(run.duration_ms)));
  std::string axis(width, ' ');
  const std::string end_text = base::elapsed_text(std::chrono::milliseconds(total));
  axis.replace(0, 1, "0");
  if (end_text.size() < width) axis.replace(width - end_text.size(), end_text.size(), end_text);
  out += fit("", name_width) + " " + axis + "\n";
  for (std::size_t h : order) {
    const HostRecord& host = run.hosts[h];
    // Each cell shows the attempt that covers most of it; a step shorter than a cell still shows.
    std::vector<int> cell(width, -1);
    std::vector<std::int64_t> covered(width, 0);
    for (std::size_t a = 0; a < host.attempts.size(); ++a) {
      const Attempt& attempt = host.attempts[a];
      const std::size_t first =
          static_cast<std::size_t>(attempt.start_ms * static_cast<std::int64_t>(width) / total);
      const std::size_t last =
          static_cast<std::size_t>(attempt.end_ms * static_cast<std::int64_t>(width) / total);
      for (std::size_t c = std::min(first, width - 1); c <= std::min(last, width - 1); ++c) {
        const std::int64_t from =
            std::max<std::int64_t>(attempt.start_ms, static_cast<std::int64_t>(c) * total /
                                                         static_cast<std::int64_t>(width));
        const std::int64_t to =
            std::min<std::int64_t>(attempt.end_ms, static_cast<std::int64_t>(c + 1) * total /
                                                       static_cast<std::int64_t>(width));
        const std::int64_t length = std::max<std::int64_t>(1, to - from);
        if (cell[c] < 0 || length > covered[c] || attempt.status == BarStatus::Failed) {
          cell[c] = static_cast<int>(a);
          covered[c] = length;
        }
      }
    }
    std::string bar;
    int last_color = -1;
    const std::size_t first_cell = static_cast<std::size_t>(
        std::find_if(cell.begin(), cell.end(), [](int c) { return c >= 0; }) - cell.begin());
    std::size_t last_cell = width;
    while (last_cell > 0 && cell[last_cell - 1] < 0) --last_cell;
    for (std::size_t c = 0; c < width; ++c) {
      if (cell[c] < 0) {
        if (options.color && last_color >= 0) bar += "\x1b[0m";
        last_color = -1;
        bar += c > first_cell && c < last_cell ? "·" : " ";
        continue;
      }
      const BarStatus status = host.attempts[static_cast<std::size_t>(cell[c])].status;
      if (options.color && last_color != static_cast<int>(status)) {
        bar += color(status);
        last_color = static_cast<int>(status);
      }
      bar += glyph(status);
    }
    if (options.color && last_color >= 0) bar += "\x1b[0m";
    const std::string status = host.status.empty() ? "never ended" : host.status;
    std::string line =
        fmt::format("{} {} {:>7} {}", fit(escape_terminal(host.name), name_width), bar,
                    base::elapsed_text(std::chrono::milliseconds(host_end(host))),
                    status == "ok" ? "" : status);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += "█ ok  ▓ changed  ▒ retried  ░ skipped  ✗ failed  ╳ aborted  · waiting\n";
  return out;
}

}  // namespace deployd::report
