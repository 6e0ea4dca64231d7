// SPDX-License-Identifier: MIT
// The spdlog set-up for `-v` (see logging.hpp).
#include "cli/logging.hpp"

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "report/status_line.hpp"
#include "ssh/debug_log.hpp"

namespace deployd::cli {
namespace {

// One thread logs (the engine's), so no mutex.
class StderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit StderrSink(report::StatusLine* status_line) : status_line_(status_line) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t text;
    formatter_->format(message, text);
    if (status_line_ != nullptr) status_line_->clear();
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  report::StatusLine* status_line_;
};

}  // namespace

LoggingScope::LoggingScope(bool verbose, report::StatusLine* status_line) {
  auto logger =
      std::make_shared<spdlog::logger>(ssh::kLoggerName, std::make_shared<StderrSink>(status_line));
  logger->set_pattern("deployd: %H:%M:%S.%e %v");
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
  logger->flush_on(spdlog::level::debug);
  spdlog::register_logger(std::move(logger));
}

LoggingScope::~LoggingScope() { spdlog::drop(ssh::kLoggerName); }

}  // namespace deployd::cli
