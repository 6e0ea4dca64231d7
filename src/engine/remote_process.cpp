// SPDX-License-Identifier: MIT
// The process group report and the command that stops a group (see remote_process.hpp).
#include <utility>

#include "engine/remote_process.hpp"

#include <fmt/format.h>

#include <charconv>

#include "engine/remote_command.hpp"

namespace deployd::engine {
namespace {

// A record separator first: no command's output starts with it by accident.
constexpr std::string_view kMarker = "\036deployd-pgid ";
constexpr std::size_t kLongestReport = 64;

}  // namespace

std::string process_group_report(bool is_sudo) {
  // Under sudo the script is sudo's child, not the group's leader: its group is read from
  // field 5 of /proc/PID/stat (after "(comm) "). dash reads that file a byte per system call
  // (~0.35 ms a step, measured): without sudo, $$ is the group, as the login shell execs the
  // one command it is given (bash, dash, zsh); stop_group_command finds the group otherwise.
  if (!is_sudo) return "printf '\\036deployd-pgid %s\\n' $$ >&2\n";
  return "if read -r _s 2>/dev/null </proc/$$/stat; then _s=${_s##*) }; set -- $_s; "
         "printf '\\036deployd-pgid %s\\n' \"$3\" >&2; fi; unset _s; set --\n";
}

std::string_view ProcessGroupReader::filter(std::string_view chunk) {
  if (is_done_) return chunk;
  held_.append(chunk);
  const std::size_t compare = std::min(held_.size(), kMarker.size());
  if (held_.compare(0, compare, kMarker.substr(0, compare)) != 0) {
    is_done_ = true;  // not a report: everything held is output
    return held_;
  }
  const std::size_t newline = held_.find('\n');
  if (newline == std::string::npos) {
    if (held_.size() <= kLongestReport) return {};
    is_done_ = true;
    return held_;
  }
  long value = 0;
  const char* first = held_.data() + kMarker.size();
  const char* last = held_.data() + newline;
  auto [end, error] = std::from_chars(first, last, value);
  is_done_ = true;
  if (error != std::errc() || end != last || value <= 1) return held_;  // not ours: output
  group_ = value;
  held_.erase(0, newline + 1);
  return held_;  // what followed the report in the same chunk
}

std::string skip_report(char why) {
  return fmt::format("printf '\\036deployd-skip {}\\n' >&2", why);
}

std::string_view SkipReader::filter(std::string_view chunk) {
  static constexpr std::string_view kSkip = "\036deployd-skip ";
  if (is_done_) return chunk;
  held_.append(chunk);
  const std::size_t compare = std::min(held_.size(), kSkip.size());
  if (held_.compare(0, compare, kSkip.substr(0, compare)) != 0) {
    is_done_ = true;
    return held_;
  }
  if (held_.size() < kSkip.size() + 2) return {};
  is_done_ = true;
  if (held_[kSkip.size() + 1] != '\n') return held_;  // not ours: output
  why_ = held_[kSkip.size()];
  held_.erase(0, kSkip.size() + 2);
  return held_;
}

std::string stop_group_command(long group, const std::optional<std::string>& sudo_user) {
  // `kill -SIG -PGID`, not `kill -SIG -- -PGID`: dash's kill takes no `--`.
  const std::string n = std::to_string(group);
  // No group of that id: the report named a shell that is not its group's leader (a login
  // shell that forks its command). Its group is read from /proc, if the process is still ours.
  const std::string find =
      "g=" + n + "\n"
      "if ! kill -0 -$g 2>/dev/null && [ -O /proc/" + n + " ] && read -r s </proc/" + n + "/stat; then\n"
      "  s=${s##*) }; set -- $s; [ \"$3\" -gt 1 ] 2>/dev/null && g=$3\n"
      "fi\n";
  CommandSpec spec;
  spec.command = find +
                 "kill -TERM -$g 2>/dev/null || { kill -0 -$g 2>/dev/null && exit 5; exit 0; }\n"
                 "i=0; while [ $i -lt 20 ] && kill -0 -$g 2>/dev/null; do sleep 0.1; i=$((i+1)); done\n"
                 "kill -0 -$g 2>/dev/null || exit 0\n"
                 "kill -KILL -$g 2>/dev/null; sleep 0.5\n"
                 "kill -0 -$g 2>/dev/null && exit 4; exit 0";
  spec.sudo_user = sudo_user ? std::optional<std::string>("") : std::nullopt;  // root may signal it
  return shell_command(spec);  // no value in it: one command line is fine
}

}  // namespace deployd::engine
