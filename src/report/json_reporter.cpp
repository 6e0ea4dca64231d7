// SPDX-License-Identifier: MIT
// Events as JSON Lines (plan-format.md, "JSON events"), for `--output json` and the run log.
#include "report/json_reporter.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "report/escape.hpp"
#include "report/status_line.hpp"
#include "report/time_text.hpp"

namespace deployd::report {

namespace {

// ordered_json keeps the contract's field order, so lines read (and diff) the same every run.
using OrderedJson = nlohmann::ordered_json;

OrderedJson json_text(std::string_view bytes) { return escape_json(bytes); }

OrderedJson text_or_null(std::string_view bytes) {
  return bytes.empty() ? OrderedJson() : json_text(bytes);
}

void add_fields(OrderedJson& j, const RunStart& e) {
  j["run_id"] = json_text(e.run_id);
  j["plan"] = json_text(e.plan);
  j["hosts"] = e.hosts;
  j["tasks"] = OrderedJson::array();
  for (const std::string& task : e.tasks) j["tasks"].push_back(json_text(task));
  j["plan_sha256"] = e.plan_sha256.empty() ? OrderedJson() : OrderedJson(e.plan_sha256);
  j["wave_ends"] = e.wave_ends;
  j["host_names"] = OrderedJson::array();
  for (const std::string& host : e.host_names) j["host_names"].push_back(json_text(host));
  j["targets"] = OrderedJson::array();
  for (const TaskTargets& target : e.targets) {
    OrderedJson hosts = OrderedJson::array();
    for (const std::string& host : target.hosts) hosts.push_back(json_text(host));
    j["targets"].push_back(
        OrderedJson{{"task", json_text(target.task)}, {"steps", target.steps}, {"hosts", hosts}});
  }
}

void add_fields(OrderedJson& j, const StepStart& e) {
  j["host"] = json_text(e.host);
  j["task"] = json_text(e.task);
  j["step"] = e.step;
  j["name"] = json_text(e.name);
  if (!e.delegate.empty()) j["delegate"] = json_text(e.delegate);
}

void add_fields(OrderedJson& j, const Output& e) {
  j["host"] = json_text(e.host);
  j["task"] = json_text(e.task);
  j["step"] = e.step;
  j["stream"] = to_string(e.stream);
  j["line"] = json_text(e.line);
  if (e.is_partial) j["partial"] = true;
}

void add_fields(OrderedJson& j, const StepEnd& e) {
  j["host"] = json_text(e.host);
  j["task"] = json_text(e.task);
  j["step"] = e.step;
  j["status"] = to_string(e.status);
  j["exit_status"] = e.exit_status ? OrderedJson(*e.exit_status) : OrderedJson();
  if (!e.exit_signal.empty()) j["exit_signal"] = json_text(e.exit_signal);
  j["duration_ms"] = e.duration_ms;
  j["error"] = text_or_null(e.error);
  if (e.ignored) j["ignored"] = true;  // ignore_errors: the host goes on
  if (e.changed) j["changed"] = true;
  if (e.transfer) {
    // issue 4: bytes and rate per transfer; the rate is over the step's whole duration.
    const std::uint64_t rate =
        e.duration_ms > 0 ? e.transfer->bytes * 1000 / static_cast<std::uint64_t>(e.duration_ms) : 0;
    j["transfer"] = {{"bytes", e.transfer->bytes},
                     {"unchanged", e.transfer->unchanged},
                     {"bytes_per_second", rate}};
  }
}

void add_fields(OrderedJson& j, const Progress& e) {
  j["host"] = json_text(e.host);
  j["task"] = json_text(e.task);
  j["step"] = e.step;
  j["bytes"] = e.bytes;
  j["total"] = e.total;
  j["bytes_per_second"] = e.bytes_per_second;
}

void add_fields(OrderedJson& j, const HostEnd& e) {
  j["host"] = json_text(e.host);
  j["status"] = to_string(e.status);
  j["error"] = text_or_null(e.error);
}

void add_fields(OrderedJson& j, const RunEnd& e) {
  j["status"] = to_string(e.status);
  j["exit_code"] = e.exit_code;
  j["counts"] = {{"ok", e.counts.ok},
                 {"failed", e.counts.failed},
                 {"unreachable", e.counts.unreachable},
                 {"skipped", e.counts.skipped},
                 {"aborted", e.counts.aborted}};
  j["duration_ms"] = e.duration_ms;
  j["reason"] = text_or_null(e.reason);
}

const char* event_name(const RunStart&) { return "run_start"; }
const char* event_name(const StepStart&) { return "step_start"; }
const char* event_name(const Output&) { return "output"; }
const char* event_name(const StepEnd&) { return "step_end"; }
const char* event_name(const HostEnd&) { return "host_end"; }
const char* event_name(const RunEnd&) { return "run_end"; }
const char* event_name(const Progress&) { return "progress"; }

// A regular file is the run log: see JsonReporter::on for why it is not flushed per event.
bool is_regular_file(std::FILE* out) {
  struct stat st {};
  const int fd = ::fileno(out);
  return fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

bool ends_a_unit(const Event& event) {
  return !std::holds_alternative<StepStart>(event.body) &&
         !std::holds_alternative<Output>(event.body) && !std::holds_alternative<Progress>(event.body);
}

// Output events are nearly all the events of a big run (one per line of output), so they skip
// nlohmann's document tree: a line is written directly, byte for byte what dump() writes for
// the same fields (json_reporter_test checks the two agree on every kind of byte).
void append_json_string(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += '"';
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[at]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      const std::size_t start = at;
      while (at < bytes.size()) {
        const auto d = static_cast<unsigned char>(bytes[at]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++at;
      }
      out.append(bytes.substr(start, at - start));
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\':  // escape_json's `\x5c` before an `x`, so that `\xNN` is always a byte
          out += at + 1 < bytes.size() && bytes[at + 1] == 'x' ? "\\\\x5c" : "\\\\";
          break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out += kDigits[c >> 4];
          out += kDigits[c & 0x0F];
      }
      ++at;
      continue;
    }
    const std::size_t length = utf8_sequence_length(bytes, at);
    if (length == 0) {  // escape_json's `\xNN`, whose backslash JSON escapes in turn
      out += "\\\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0x0F];
      ++at;
      continue;
    }
    out.append(bytes.substr(at, length));
    at += length;
  }
  out += '"';
}

std::string output_to_json(const Output& e, Clock::time_point time) {
  std::string out;
  out.reserve(e.line.size() + e.host.size() + e.task.size() + 96);
  out += R"({"event":"output","time":")";
  out += format_rfc3339_ms(time);
  out += R"(","host":)";
  append_json_string(out, e.host);
  out += R"(,"task":)";
  append_json_string(out, e.task);
  out += R"(,"step":)";
  out += std::to_string(e.step);
  out += R"(,"stream":")";
  out += to_string(e.stream);
  out += R"(","line":)";
  append_json_string(out, e.line);
  if (e.is_partial) out += R"(,"partial":true)";
  out += '}';
  return out;
}

}  // namespace

std::string event_to_json(const Event& event) {
  if (const auto* output = std::get_if<Output>(&event.body)) return output_to_json(*output, event.time);
  OrderedJson j;
  std::visit(
      [&](const auto& body) {
        j["event"] = event_name(body);
        j["time"] = format_rfc3339_ms(event.time);
        add_fields(j, body);
      },
      event.body);
  return j.dump();
}

JsonReporter::JsonReporter(std::FILE* out, JsonFlush flush)
    : out_(out),
      flush_each_event_(flush == JsonFlush::EachEvent ||
                        (flush == JsonFlush::Auto && !is_regular_file(out))) {}

// Each line goes out with one fwrite, so lines never interleave with other writes to the
// stream. A pipe or terminal is flushed per event, as its reader waits for each one. The run
// log file is flushed only when a step, host or run ends: a big fleet prints millions of lines,
// and a write(2) per line would cost the engine's one thread more than the rest of its work,
// while a consumer of the file (tail -f, a crash post-mortem) loses at most the output of the
// steps still running, which their step_end would have had to wait for anyway.
void JsonReporter::on(const Event& event) {
  std::string line = event_to_json(event);
  line += '\n';
  if (status_line_ != nullptr) status_line_->clear();
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() && error_.empty()) {
    error_ = std::strerror(errno);
  }
  if (flush_each_event_ || ends_a_unit(event)) flush();
}

void JsonReporter::finish() { flush(); }

void JsonReporter::flush() {
  if (std::fflush(out_) != 0 && error_.empty()) error_ = std::strerror(errno);
}

}  // namespace deployd::report
