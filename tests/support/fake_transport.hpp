// SPDX-License-Identifier: MIT
// Test helper: a Transport scripted per host that records every call (ninja's FakeCommandRunner).
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "engine/remote_command.hpp"
#include "engine/remote_process.hpp"
#include "engine/transport.hpp"

namespace deployd::testing {

/// What a scripted command prints and how it ends.
struct FakeReply {
  std::vector<std::pair<OutputStream, std::string>> chunks;
  base::ExecResult result{.exit_status = 0};
  int yields = 1;  ///< times the command gives the loop away before it ends: a "slower" host
  /// The command runs until its timeout or until it is cancelled (`sleep 600`).
  bool hangs = false;
  /// The first this-many runs of the command on a host exit 1 instead (a flaky step).
  int fails_first = 0;
};

/// A command that exits with `status` at once.
inline FakeReply exits(int status) {
  FakeReply reply;
  reply.result.exit_status = status;
  return reply;
}

/// FakeTransport answers connects and commands from a script and records what it was asked.
class FakeTransport final : public engine::Transport {
 public:
  /// Connecting to `host` fails with this reason.
  void refuse(const std::string& host, std::string error) { refused_[host] = std::move(error); }
  /// A command on `host` ("*": any host) containing `needle` gets `reply`; first match wins.
  void reply(const std::string& host, std::string needle, FakeReply reply) {
    replies_.push_back({host, std::move(needle), std::move(reply)});
  }

  /// A put or get on `host` ("*": any host) whose remote path contains `needle` gets `result`.
  void transfer_result(const std::string& host, std::string needle, engine::TransferResult result) {
    transfers_.push_back({host, std::move(needle), std::move(result)});
  }

  std::map<std::string, std::vector<std::string>> commands;  ///< per host, exec texts in order
  std::map<std::string, std::vector<engine::PutRequest>> puts;  ///< per host, in order
  std::map<std::string, std::vector<engine::GetRequest>> gets;  ///< per host, in order
  std::vector<std::string> order;  ///< "host: command" across hosts, in the order they started
  int connects = 0;
  int cancels = 0;  ///< Connection::cancel() calls
  /// Per host: connection attempts to fail with a transient error before one succeeds.
  std::map<std::string, int> flaky;
  /// Hosts whose puts and gets never end by themselves: only cancel() stops them, as it drops
  /// an SFTP session.
  std::set<std::string> stalled_transfers;
  /// Per host: connections that succeed before every later one is refused.
  std::map<std::string, int> refuse_after;
  int open_now = 0;
  int most_open = 0;  ///< the largest number of connections open at once
  /// Connections give lanes (Connection::lane), as SSH sessions do; off: commands take turns.
  bool has_lanes = false;
  std::map<std::string, int> running;       ///< per host, commands running now
  std::map<std::string, int> most_running;  ///< per host, the most commands running at once

  boost::asio::awaitable<engine::ConnectResult> connect(const Host& host) override;

 private:
  class FakeConnection;
  struct Scripted {
    std::string host;
    std::string needle;
    FakeReply reply;
  };
  FakeReply reply_for(const std::string& host, const std::string& command) {
    for (const Scripted& s : replies_) {
      if ((s.host != "*" && s.host != host) || command.find(s.needle) == std::string::npos) continue;
      FakeReply reply = s.reply;
      if (runs_[host + '\n' + s.needle]++ < reply.fails_first)
        reply.result = base::ExecResult{.exit_status = 1};
      return reply;
    }
    return FakeReply{};
  }

  struct ScriptedTransfer {
    std::string host;
    std::string needle;
    engine::TransferResult result;
  };
  engine::TransferResult transfer_for(const std::string& host, const std::string& path) const {
    for (const ScriptedTransfer& s : transfers_)
      if ((s.host == "*" || s.host == host) && path.find(s.needle) != std::string::npos) return s.result;
    return engine::TransferResult{.bytes = 1024};
  }

  std::map<std::string, std::string> refused_;
  std::map<std::string, int> runs_;  ///< per host and needle: commands answered so far
  std::vector<Scripted> replies_;
  std::vector<ScriptedTransfer> transfers_;
};

class FakeTransport::FakeConnection final : public engine::Connection {
 public:
  FakeConnection(FakeTransport& transport, std::string host, bool is_lane = false)
      : transport_(transport), host_(std::move(host)), is_lane_(is_lane) {}

  // `sh -s` with the script on stdin, written as the `sh -c` command line it replaces.
  static std::string as_command_line(const engine::ExecRequest& request) {
    const std::string& script = request.input;
    const std::string_view open = engine::kScriptOpen;
    const std::string_view close = engine::kScriptClose;
    if (!request.command.ends_with("sh -s") || !script.starts_with(open) || !script.ends_with(close))
      return request.command;
    std::string inner = script.substr(open.size(), script.size() - open.size() - close.size());
    return request.command.substr(0, request.command.size() - 5) + "sh -c " + engine::shell_quote(inner);
  }

  boost::asio::awaitable<base::ExecResult> exec(const engine::ExecRequest& request) override {
    // Recorded without the process group report every remote step starts with, so that tests
    // read the command as the plan shaped it (remote_command_test checks the report), and as the
    // one `sh -c` line it stands for when its script comes on stdin (`sh -s`).
    std::string command = as_command_line(request);
    for (bool is_sudo : {false, true}) {
      std::string report = engine::shell_quote(engine::process_group_report(is_sudo));
      report = report.substr(1, report.size() - 2);  // as it stands inside the quoted script
      if (auto at = command.find(report); at != std::string::npos) command.erase(at, report.size());
    }
    transport_.commands[host_].push_back(command);
    transport_.order.push_back(host_ + ": " + command);
    FakeReply reply = transport_.reply_for(host_, as_command_line(request));
    cancel_requested_ = false;
    int& running = transport_.running[host_];
    transport_.most_running[host_] = std::max(transport_.most_running[host_], ++running);
    struct Done {
      int& running;
      ~Done() { --running; }
    } done{running};
    for (auto& [stream, chunk] : reply.chunks) {
      request.on_output(stream, chunk);
      co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    }
    for (int i = 0; i < reply.yields; ++i)
      co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    if (reply.hangs) co_return co_await hang(request);
    co_return reply.result;
  }

  boost::asio::awaitable<engine::TransferResult> put(const engine::PutRequest& request) override {
    transport_.puts[host_].push_back(request);
    transport_.order.push_back(host_ + ": put " + request.local_path + " " + request.remote_path);
    co_return co_await transfer(request.remote_path, request.on_progress);
  }

  boost::asio::awaitable<engine::TransferResult> get(const engine::GetRequest& request) override {
    transport_.gets[host_].push_back(request);
    transport_.order.push_back(host_ + ": get " + request.remote_path + " " + request.local_path);
    co_return co_await transfer(request.remote_path, request.on_progress);
  }

  boost::asio::awaitable<void> close() override {
    if (!is_lane_) --transport_.open_now;
    co_return;
  }
  std::unique_ptr<engine::Connection> lane() override {
    if (!transport_.has_lanes) return nullptr;
    return std::make_unique<FakeConnection>(transport_, host_, true);
  }
  // Like ssh::Session::cancel(): heard by the command in flight even before it waits.
  void cancel() override {
    ++transport_.cancels;
    cancel_requested_ = true;
    if (hanging_) hanging_->cancel();
  }

 private:
  // Waits for the request's timeout or for cancel(), whichever comes first.
  boost::asio::awaitable<base::ExecResult> hang(const engine::ExecRequest& request) {
    if (cancel_requested_) co_return base::ExecResult{.cancelled = true};
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_after(request.timeout.value_or(std::chrono::hours(24)));
    hanging_ = &timer;
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    hanging_ = nullptr;
    base::ExecResult result;
    (ec ? result.cancelled : result.timed_out) = true;
    co_return result;
  }

  // A transfer that waits for cancel(), which drops the session as ssh::Session does.
  boost::asio::awaitable<engine::TransferResult> stall() {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::hours(24));
    hanging_ = &timer;
    boost::system::error_code ec;
    if (!cancel_requested_) co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    hanging_ = nullptr;
    co_return engine::TransferResult{0, false, "the connection is unusable: the transfer was cancelled", true};
  }

  // The scripted result for `remote_path`; progress once at the end, as a small file reports.
  boost::asio::awaitable<engine::TransferResult> transfer(const std::string& remote_path,
                                                          const engine::TransferProgress& progress) {
    engine::TransferResult result = transport_.transfer_for(host_, remote_path);
    co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    if (transport_.stalled_transfers.contains(host_)) co_return co_await stall();
    if (progress && result.error.empty() && !result.unchanged) progress(result.bytes, result.bytes);
    co_return result;
  }

  FakeTransport& transport_;
  std::string host_;
  bool is_lane_ = false;
  boost::asio::steady_timer* hanging_ = nullptr;
  bool cancel_requested_ = false;
};

inline boost::asio::awaitable<engine::ConnectResult> FakeTransport::connect(const Host& host) {
  ++connects;
  co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
  if (auto refused = refused_.find(host.name); refused != refused_.end())
    co_return engine::ConnectResult{nullptr, engine::ConnectFailure::Unreachable, refused->second};
  if (auto left = refuse_after.find(host.name); left != refuse_after.end() && left->second-- <= 0)
    co_return engine::ConnectResult{nullptr, engine::ConnectFailure::Unreachable, "connection refused"};
  if (int& failures = flaky[host.name]; failures > 0) {
    --failures;
    co_return engine::ConnectResult{nullptr, engine::ConnectFailure::Unreachable, "connection refused", true};
  }
  ++open_now;
  most_open = std::max(most_open, open_now);
  co_return engine::ConnectResult{std::make_unique<FakeConnection>(*this, host.name), engine::ConnectFailure::None, ""};
}

}  // namespace deployd::testing
