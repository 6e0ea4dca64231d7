// SPDX-License-Identifier: MIT
// The run's side of warm sessions (see warm_transport.hpp).
#include "warm/warm_transport.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdlib>
#include <filesystem>

#include "async/awaitable.hpp"
#include "engine/ssh_transport.hpp"
#include "ssh/debug_log.hpp"
#include "warm/runtime_folder.hpp"
#include "warm/stream.hpp"

namespace deployd::warm {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using base::ExecResult;
using engine::ConnectResult;
using engine::TransferResult;

/// `path` as the daemon must see it: its working folder is `/`, not the run's.
std::string absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  const std::filesystem::path whole = std::filesystem::absolute(path, ec);
  return ec ? path : whole.string();
}

/// One host's session, borrowed from the daemon: its commands run there.
class WarmConnection final : public engine::Connection {
 public:
  WarmConnection(std::shared_ptr<UnixSocket> socket, FrameReader reader, const Host& host,
                 engine::Transport& direct, bool has_same_umask)
      : has_same_umask_(has_same_umask),
        socket_(std::move(socket)),
        outbox_(std::make_shared<Outbox>(socket_)),
        reader_(std::move(reader)),
        host_(host),
        direct_transport_(direct) {}
  ~WarmConnection() override {
    boost::system::error_code ec;
    socket_->close(ec);
  }

  awaitable<ExecResult> exec(const engine::ExecRequest& request) override {
    if (!broken_.empty()) co_return ExecResult{{}, {}, false, broken_, false};
    outbox_->send(FrameType::Exec,
                  encode_exec(ExecMessage{request.command, request.input, request.timeout}));
    is_executing_ = true;
    while (std::optional<Frame> frame = co_await reader_.next(*socket_)) {
      if (frame->type == FrameType::Output && !frame->payload.empty()) {
        const auto stream = frame->payload[0] == '\0' ? OutputStream::Stdout : OutputStream::Stderr;
        if (request.on_output)
          request.on_output(stream, std::string_view(frame->payload).substr(1));
        continue;
      }
      is_executing_ = false;
      std::optional<ExecEnd> end;
      if (frame->type == FrameType::ExecDone) end = decode_exec_done(frame->payload);
      if (!end) break;
      if (!end->error.empty()) broken_ = end->error;
      co_return ExecResult{end->exit_status, engine::signal_name(end->exit_signal), end->timed_out,
                           std::move(end->error), end->cancelled};
    }
    is_executing_ = false;
    broken_ = "connection lost during command: deployd serve closed the connection";
    co_return ExecResult{{}, {}, false, broken_, false};
  }

  awaitable<TransferResult> put(const engine::PutRequest& request) override {
    // A rendered template's bytes live in this run, not in a file the daemon could read.
    if (request.content)
      co_return co_await direct_transfer(
          [&](engine::Connection& direct) { return direct.put(request); });
    if (!broken_.empty()) co_return TransferResult{0, false, broken_, true};
    outbox_->send(FrameType::Put,
                  encode_put(PutMessage{absolute(request.local_path), request.remote_path,
                                        request.mode, request.temp_tag, request.sudo_user,
                                        request.owner, request.group, request.recursive}));
    co_return co_await transfer_result(request.on_progress);
  }

  awaitable<TransferResult> get(const engine::GetRequest& request) override {
    if (!has_same_umask_)
      co_return co_await direct_transfer(
          [&](engine::Connection& direct) { return direct.get(request); });
    if (!broken_.empty()) co_return TransferResult{0, false, broken_, true};
    outbox_->send(FrameType::Get,
                  encode_get(GetMessage{request.remote_path, absolute(request.local_path),
                                        request.temp_tag, request.mode, request.max_size,
                                        request.sudo_user, request.recursive}));
    co_return co_await transfer_result(request.on_progress);
  }

  /// The session goes back to the daemon, which takes the end of the stream for "done".
  awaitable<void> close() override {
    if (direct_) co_await direct_->close();
    direct_.reset();
    boost::system::error_code ec;
    socket_->close(ec);
  }

  void cancel() override {
    if (is_executing_) outbox_->send(FrameType::Cancel, "");
    if (is_transferring_ && direct_) direct_->cancel();
  }

 private:
  /// Progress frames, then how the transfer the daemon runs ended.
  awaitable<TransferResult> transfer_result(const engine::TransferProgress& on_progress) {
    is_executing_ = true;  // a cancel goes to the daemon
    while (std::optional<Frame> frame = co_await reader_.next(*socket_)) {
      if (frame->type == FrameType::Progress) {
        FieldReader in(frame->payload);
        const std::uint64_t done = in.u64();
        const std::uint64_t total = in.u64();
        if (in.ok() && on_progress) on_progress(done, total);
        continue;
      }
      is_executing_ = false;
      std::optional<TransferEnd> end;
      if (frame->type == FrameType::TransferDone) end = decode_transfer_done(frame->payload);
      if (!end) break;
      if (end->connection_lost) broken_ = end->error;
      co_return TransferResult{end->bytes, end->unchanged, std::move(end->error),
                               end->connection_lost};
    }
    is_executing_ = false;
    broken_ = "connection lost during the transfer: deployd serve closed the connection";
    co_return TransferResult{0, false, broken_, true};
  }

  /// Runs a transfer the daemon cannot do (see put and get) on a direct session.
  template <class Transfer>
  awaitable<TransferResult> direct_transfer(Transfer transfer) {
    engine::Connection* direct = co_await transfer_connection();
    if (direct == nullptr) co_return TransferResult{0, false, transfer_error_, true};
    is_transferring_ = true;
    TransferResult result = co_await transfer(*direct);
    is_transferring_ = false;
    co_return result;
  }

  /// A `get` with another umask than the daemon's (whose files would get the daemon's modes),
  /// or a rendered template, opens a direct session, the first one for the connection.
  awaitable<engine::Connection*> transfer_connection() {
    if (direct_) co_return direct_.get();
    ConnectResult connected = co_await direct_transport_.connect(host_);
    if (!connected.connection) {
      transfer_error_ = "connect for the transfer: " + connected.error;
      co_return nullptr;
    }
    direct_ = std::move(connected.connection);
    co_return direct_.get();
  }

  bool has_same_umask_;  ///< `get` may go through the daemon
  std::shared_ptr<UnixSocket> socket_;
  std::shared_ptr<Outbox> outbox_;
  FrameReader reader_;
  const Host& host_;
  engine::Transport& direct_transport_;
  std::unique_ptr<engine::Connection> direct_;  ///< for transfers, opened by the first one
  std::string transfer_error_;
  std::string broken_;  ///< why the borrowed session can no longer be used
  bool is_executing_ = false;
  bool is_transferring_ = false;
};

class WarmTransport final : public engine::Transport {
 public:
  WarmTransport(std::unique_ptr<engine::Transport> direct, std::string socket)
      : direct_(std::move(direct)), socket_path_(std::move(socket)) {}

  awaitable<ConnectResult> connect(const Host& host) override {
    if (!is_daemon_gone_ && can_borrow(host)) {
      auto spec = engine::connection_spec(host);
      if (auto* ssh_spec = std::get_if<ssh::ConnectionSpec>(&spec)) {
        // The daemon's working folder is `/`: relative key and known_hosts paths are the run's.
        for (std::string& identity : ssh_spec->identities) identity = absolute(identity);
        ssh_spec->known_hosts = absolute(ssh_spec->known_hosts);
        std::optional<ConnectResult> borrowed = co_await borrow(host, *ssh_spec);
        if (borrowed) co_return std::move(*borrowed);
      }
    }
    co_return co_await direct_->connect(host);
  }

  std::string prepare(const std::vector<const Host*>& hosts) override {
    return direct_->prepare(hosts);
  }
  std::vector<std::string> finish() override { return direct_->finish(); }

 private:
  /// The daemon's answer for `host`, or nullopt: connect directly.
  awaitable<std::optional<ConnectResult>> borrow(const Host& host,
                                                 const ssh::ConnectionSpec& spec) {
    auto socket = std::make_shared<UnixSocket>(co_await asio::this_coro::executor);
    boost::system::error_code ec;
    co_await socket->async_connect(asio::local::stream_protocol::endpoint(socket_path_),
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // No daemon (or it went away): the rest of the run connects directly.
      if (ec != asio::error::try_again) is_daemon_gone_ = true;
      co_return std::nullopt;
    }
    // The socket's folder was checked before the run; the process behind it must be ours too.
    if (peer_uid(socket->native_handle()) != static_cast<long>(::geteuid())) {
      is_daemon_gone_ = true;
      co_return std::nullopt;
    }
    auto outbox = std::make_shared<Outbox>(socket);
    outbox->send(FrameType::Hello, encode_hello(spec));
    FrameReader reader;
    std::optional<Frame> reply = co_await reader.next(*socket);
    if (!reply) co_return std::nullopt;
    switch (reply->type) {
      case FrameType::Connected: {
        FieldReader fields(reply->payload);
        const bool is_reused = fields.u8() == 1;
        const std::uint32_t daemon_umask = fields.u32();
        if (ssh::is_debug_logging())
          ssh::debug_log(host.name + (is_reused ? ": borrowed a warm session from deployd serve"
                                                : ": deployd serve opened a session"));
        co_return ConnectResult{
            std::make_unique<WarmConnection>(socket, std::move(reader), host, *direct_,
                                             fields.ok() && daemon_umask == umask_),
            engine::ConnectFailure::None,
            {}};
      }
      case FrameType::Failed:
        if (std::optional<ConnectError> failed = decode_failed(reply->payload)) {
          co_return ConnectResult{nullptr, static_cast<engine::ConnectFailure>(failed->failure),
                                  std::move(failed->error), failed->transient};
        }
        co_return std::nullopt;
      case FrameType::Fallback:
        if (ssh::is_debug_logging())
          ssh::debug_log(host.name + ": connecting directly (deployd serve: " + reply->payload +
                         ")");
        co_return std::nullopt;
      default:
        co_return std::nullopt;
    }
  }

  std::unique_ptr<engine::Transport> direct_;
  std::string socket_path_;
  bool is_daemon_gone_ = false;
  std::uint32_t umask_ = [] {  // this run's, read once
    const mode_t mask = ::umask(077);
    ::umask(mask);
    return static_cast<std::uint32_t>(mask);
  }();
};

}  // namespace

bool can_borrow(const Host& host) {
  if (!host.via.empty() || !host.password_env.empty() || !host.passphrase_env.empty()) return false;
  // Without a named key, the agent is tried first: the daemon's agent may not be the run's.
  return !host.identities.empty() || std::getenv("SSH_AUTH_SOCK") == nullptr;
}

std::unique_ptr<engine::Transport> make_warm_transport(std::unique_ptr<engine::Transport> direct,
                                                       std::string socket) {
  return std::make_unique<WarmTransport>(std::move(direct), std::move(socket));
}

}  // namespace deployd::warm
