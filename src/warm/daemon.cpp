// SPDX-License-Identifier: MIT
// The warm session daemon (see daemon.hpp): one io_context thread, like a run. It owns every
// session (libssh2 state cannot move between processes) and runs each borrowed session's
// commands for the run that borrowed it, streaming the output back.
#include "warm/daemon.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <list>
#include <map>
#include <set>

#include "async/awaitable.hpp"
#include "base/duration_text.hpp"
#include "engine/ssh_transport.hpp"
#include "ssh/init.hpp"
#include "ssh/session.hpp"
#include "ssh/sftp.hpp"
#include "warm/lending_key.hpp"
#include "warm/runtime_folder.hpp"
#include "warm/stream.hpp"

namespace deployd::warm {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;
using Acceptor = asio::local::stream_protocol::acceptor;

void log_line(const std::string& text) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", std::gmtime(&now));
  std::fprintf(stderr, "%sZ deployd serve: %s\n", stamp, text.c_str());
}

/// What identifies a file's content cheaply: device, inode, size, modification time.
std::string file_stamp(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return "-";
  return std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino) + ":" +
         std::to_string(info.st_size) + ":" + std::to_string(info.st_mtim.tv_sec) + "." +
         std::to_string(info.st_mtim.tv_nsec);
}

/// One authenticated session the daemon keeps, idle or lent to one run's host.
struct Warm {
  std::unique_ptr<ssh::Session> session;
  ssh::ConnectionSpec spec;  ///< as first opened (for --status)
  std::string key;           ///< lending_key(spec)
  Clock::time_point opened = Clock::now();
  Clock::time_point idle_since = Clock::now();
  int lends = 0;  ///< runs it served after the one that opened it
};

/// One connection from a run: one host's borrowed session.
struct Borrower {
  std::shared_ptr<UnixSocket> socket;
  std::shared_ptr<Outbox> outbox;
  std::optional<Warm> lent;
  bool is_busy = false;  ///< a command runs
  bool is_gone = false;  ///< the run closed its end: the session goes back when the command ends
};

class Daemon {
 public:
  Daemon(asio::io_context& io, ServeOptions options, Acceptor acceptor)
      : io_(io), options_(std::move(options)), acceptor_(std::move(acceptor)), reaper_(io) {}

  awaitable<void> accept_loop() {
    while (!is_stopping_) {
      auto socket = std::make_shared<UnixSocket>(io_);
      boost::system::error_code ec;
      co_await acceptor_.async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (is_stopping_) break;
        // EMFILE and the like: wait for descriptors to free up rather than spin.
        asio::steady_timer pause(io_, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  awaitable<void> reap_loop() {
    const auto tick = std::clamp<Clock::duration>(options_.idle / 4, std::chrono::milliseconds(50),
                                                  std::chrono::seconds(1));
    while (!is_stopping_) {
      reaper_.expires_after(tick);
      boost::system::error_code ec;
      co_await reaper_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (is_stopping_) break;
      const auto now = Clock::now();
      for (auto it = idle_.begin(); it != idle_.end();) {
        if (now - it->idle_since < options_.idle) {
          ++it;
          continue;
        }
        log_line("closing " + label(it->spec) + ": idle for " +
                 base::elapsed_text(now - it->idle_since));
        discard(std::move(*it));
        it = idle_.erase(it);
      }
      if (idle_.empty() && borrowers_.empty() && now - last_activity_ >= options_.idle) {
        log_line("nothing to keep for " + base::duration_text(options_.idle) + ": exiting");
        stop();
      }
    }
  }

  bool is_stopping() const { return is_stopping_; }

  void stop() {
    if (is_stopping_) return;
    is_stopping_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    reaper_.cancel();
    for (Warm& warm : idle_) discard(std::move(warm));
    idle_.clear();
    for (const std::shared_ptr<Borrower>& borrower : borrowers_) {
      if (borrower->lent && borrower->is_busy) borrower->lent->session->cancel();
      borrower->socket->close(ec);
    }
  }

 private:
  static std::string label(const ssh::ConnectionSpec& spec) {
    return spec.user + "@" + spec.address + ":" + std::to_string(spec.port);
  }

  /// Closes a session in its own coroutine (an orderly disconnect takes a round trip).
  void discard(Warm warm) {
    if (!warm.session) return;
    ++closing_;
    asio::co_spawn(
        io_,
        [this,
         session = std::shared_ptr<ssh::Session>(std::move(warm.session))]() -> awaitable<void> {
          co_await session->close();
          --closing_;
        },
        asio::detached);
  }

 public:
  /// Sessions still disconnecting.
  int closing() const { return closing_; }

 private:
  /// A borrowed session comes back: kept if it can still serve, else closed.
  void give_back(Warm warm) {
    last_activity_ = Clock::now();
    if (is_stopping_ || !warm.session->is_usable()) {
      discard(std::move(warm));
      return;
    }
    warm.idle_since = Clock::now();
    idle_.push_back(std::move(warm));
  }

  /// The ssh::Client whose known_hosts and keys are what is on disk now: a new one when a file
  /// this request uses changed since the current one read it (a key removed from known_hosts,
  /// a key file replaced), so the daemon checks as a new run would.
  std::shared_ptr<ssh::Client> client_for(const ssh::ConnectionSpec& spec) {
    std::vector<std::string> files = spec.identities;
    files.push_back(spec.known_hosts);
    bool is_stale = !client_;
    std::vector<std::string> stamps;
    for (const std::string& file : files) {
      stamps.push_back(file_stamp(file));
      auto seen = stamps_.find(file);
      if (seen != stamps_.end() && seen->second != stamps.back()) is_stale = true;
    }
    if (is_stale) {
      client_ = std::make_shared<ssh::Client>();
      stamps_.clear();
      unlocked_.clear();
    }
    for (std::size_t i = 0; i < files.size(); ++i) stamps_.emplace(files[i], stamps[i]);
    return client_;
  }

  awaitable<void> serve(std::shared_ptr<UnixSocket> socket) {
    const long uid = peer_uid(socket->native_handle());
    if (uid != static_cast<long>(::geteuid())) {
      log_line("refused a connection from uid " + std::to_string(uid) +
               " (this daemon serves uid " + std::to_string(::geteuid()) + " only)");
      co_return;  // closed unanswered: nothing is shared across users
    }
    auto borrower = std::make_shared<Borrower>();
    borrower->socket = socket;
    borrower->outbox = std::make_shared<Outbox>(socket);
    borrowers_.insert(borrower);
    last_activity_ = Clock::now();
    FrameReader reader;
    while (std::optional<Frame> frame = co_await reader.next(*socket)) {
      if (!co_await handle(borrower, *frame)) break;
    }
    borrower->is_gone = true;
    if (borrower->is_busy) {
      borrower->lent->session->cancel();  // run_exec gives the session back when it returns
    } else if (borrower->lent) {
      give_back(std::move(*borrower->lent));
      borrower->lent.reset();
    }
    borrowers_.erase(borrower);
    if (borrowers_.empty()) sources_ = ssh::SourceCache();  // no run left: unmap their files
    boost::system::error_code ec;
    socket->close(ec);
  }

  /// One frame from a run; false ends the connection (a frame out of order or not understood).
  awaitable<bool> handle(std::shared_ptr<Borrower> owner, const Frame& frame) {
    Borrower& borrower = *owner;
    switch (frame.type) {
      case FrameType::Hello: {
        if (borrower.lent) co_return false;
        std::uint32_t version = 0;
        std::optional<ssh::ConnectionSpec> spec = decode_hello(frame.payload, version);
        if (!spec) {
          borrower.outbox->send(FrameType::Fallback, "deployd serve speaks protocol " +
                                                         std::to_string(kProtocolVersion) +
                                                         ", this run " + std::to_string(version) +
                                                         " (restart it)");
          co_return true;
        }
        co_await lend(borrower, *spec);
        co_return true;
      }
      case FrameType::Exec: {
        std::optional<ExecMessage> message = decode_exec(frame.payload);
        if (!message || !borrower.lent || borrower.is_busy) co_return false;
        borrower.is_busy = true;
        asio::co_spawn(io_, run_exec(owner, std::move(*message)), asio::detached);
        co_return true;
      }
      case FrameType::Put: {
        std::optional<PutMessage> message = decode_put(frame.payload);
        if (!message || !borrower.lent || borrower.is_busy) co_return false;
        borrower.is_busy = true;
        asio::co_spawn(io_, run_put(owner, std::move(*message)), asio::detached);
        co_return true;
      }
      case FrameType::Get: {
        std::optional<GetMessage> message = decode_get(frame.payload);
        if (!message || !borrower.lent || borrower.is_busy) co_return false;
        borrower.is_busy = true;
        asio::co_spawn(io_, run_get(owner, std::move(*message)), asio::detached);
        co_return true;
      }
      case FrameType::Cancel:
        if (borrower.is_busy) borrower.lent->session->cancel();
        co_return true;
      case FrameType::Status:
        borrower.outbox->send(FrameType::StatusReply, status_text());
        co_return true;
      case FrameType::Stop:
        log_line("stopping (deployd serve --stop)");
        borrower.outbox->send(FrameType::StatusReply, "stopping");
        co_await borrower.outbox->drain();
        stop();
        co_return false;
      default:
        co_return false;
    }
  }

  /// Lends a warm session for `spec`, or opens one; answers Connected, Failed or Fallback.
  awaitable<void> lend(Borrower& borrower, const ssh::ConnectionSpec& spec) {
    std::shared_ptr<ssh::Client> client = client_for(spec);
    const std::string key = lending_key(spec);
    for (auto it = idle_.begin(); it != idle_.end();) {
      if (it->key != key) {
        ++it;
        continue;
      }
      Warm warm = std::move(*it);
      it = idle_.erase(it);
      if (!warm.session->is_usable()) {
        log_line(label(spec) + ": the idle session was lost; connecting again");
        discard(std::move(warm));
        continue;
      }
      // The key the session was opened with must still pass the user's known_hosts, as a new
      // connection's would: a changed or removed entry is never masked by a warm session.
      if (std::string error = client->check_host_key(*warm.session, spec); !error.empty()) {
        log_line(label(spec) + ": the warm session's host key no longer passes: " + error);
        discard(std::move(warm));
        continue;
      }
      for (const std::string& error : client->flush_known_hosts()) log_line(error);  // accept-new
      ++warm.lends;
      borrower.lent = std::move(warm);
      borrower.outbox->send(FrameType::Connected, FieldWriter().u8(1).u32(umask_).take());
      co_return;
    }
    // Keys are read as a run reads them, but nobody can be asked for a passphrase here: an
    // encrypted key not in the agent sends the run to connect directly (it asked already).
    bool is_unlocked = true;
    for (const std::string& path : spec.identities)
      is_unlocked = is_unlocked && unlocked_.count(path);
    if (!is_unlocked) {
      std::vector<ssh::KeyUse> uses;
      for (const std::string& path : spec.identities)
        uses.push_back(ssh::KeyUse{path, true, {}, {}});
      if (std::string error = client->unlock_identities(uses, nullptr); !error.empty()) {
        borrower.outbox->send(FrameType::Fallback, error);
        co_return;
      }
      for (const std::string& path : spec.identities) unlocked_.insert(path);
    }
    ssh::ConnectOutcome outcome = co_await client->connect(spec);
    for (const std::string& error : client->flush_known_hosts()) log_line(error);  // accept-new
    stamps_[spec.known_hosts] = file_stamp(spec.known_hosts);  // our own append: no reload
    last_activity_ = Clock::now();
    if (!outcome.session) {
      borrower.outbox->send(FrameType::Failed,
                            encode_failed(ConnectError{static_cast<std::uint8_t>(outcome.failure),
                                                       outcome.error, outcome.transient}));
      co_return;
    }
    if (borrower.is_gone || is_stopping_) {
      discard(Warm{std::move(outcome.session), spec, key});
      co_return;
    }
    borrower.lent = Warm{std::move(outcome.session), spec, key};
    borrower.outbox->send(FrameType::Connected, FieldWriter().u8(0).u32(umask_).take());
  }

  /// Runs one command on the borrowed session, its output streamed to the run as it comes.
  awaitable<void> run_exec(std::shared_ptr<Borrower> borrower, ExecMessage message) {
    ssh::ExecSpec spec{std::move(message.command), {}, message.timeout, std::move(message.input)};
    std::shared_ptr<Outbox> outbox = borrower->outbox;
    std::string payload;
    spec.on_output = [&outbox, &payload](ssh::Stream stream, std::string_view chunk) {
      payload.assign(1, stream == ssh::Stream::Stdout ? '\0' : '\1');
      payload.append(chunk);
      outbox->send(FrameType::Output, payload);
    };
    ssh::ExecOutcome outcome = co_await borrower->lent->session->exec(spec);
    outbox->send(
        FrameType::ExecDone,
        encode_exec_done(ExecEnd{outcome.exit_status, engine::signal_name(outcome.exit_signal),
                                 outcome.timed_out, outcome.error, outcome.cancelled}));
    co_await finish_operation(*borrower, !outcome.error.empty());
  }

  /// After a command or transfer: a failed connection is dropped; a session whose run has gone
  /// meanwhile goes back to the idle ones.
  awaitable<void> finish_operation(Borrower& borrower, bool is_connection_lost) {
    borrower.is_busy = false;
    last_activity_ = Clock::now();
    if (is_connection_lost) {
      discard(std::move(*borrower.lent));
      borrower.lent.reset();
    } else if (borrower.is_gone) {
      give_back(std::move(*borrower.lent));
      borrower.lent.reset();
    }
    if (borrowers_.empty()) sources_ = ssh::SourceCache();  // no run left: unmap their files
    co_return;
  }

  /// Uploads one file or folder over the borrowed session, its progress sent as it goes.
  awaitable<void> run_put(std::shared_ptr<Borrower> borrower, PutMessage message) {
    engine::PutRequest request{std::move(message.local_path),
                               std::move(message.remote_path),
                               message.mode,
                               std::move(message.temp_tag),
                               {},
                               std::move(message.sudo_user),
                               std::move(message.owner),
                               std::move(message.group),
                               message.recursive};
    std::shared_ptr<Outbox> outbox = borrower->outbox;
    request.on_progress = [&outbox](std::uint64_t done, std::uint64_t total) {
      outbox->send(FrameType::Progress, FieldWriter().u64(done).u64(total).take());
    };
    engine::TransferResult result =
        co_await engine::put_on(*borrower->lent->session, sources_, request);
    outbox->send(FrameType::TransferDone,
                 encode_transfer_done(TransferEnd{result.bytes, result.unchanged, result.error,
                                                  result.connection_lost}));
    co_await finish_operation(*borrower, result.connection_lost);
  }

  /// Downloads one file or folder over the borrowed session, its progress sent as it goes.
  awaitable<void> run_get(std::shared_ptr<Borrower> borrower, GetMessage message) {
    std::shared_ptr<Outbox> outbox = borrower->outbox;
    ssh::GetSpec spec{std::move(message.remote_path),
                      std::move(message.local_path),
                      std::move(message.temp_tag),
                      {},
                      message.mode,
                      message.max_size,
                      std::move(message.sudo_user),
                      message.recursive};
    spec.on_progress = [&outbox](std::uint64_t done, std::uint64_t total) {
      outbox->send(FrameType::Progress, FieldWriter().u64(done).u64(total).take());
    };
    ssh::TransferOutcome outcome = co_await borrower->lent->session->get(spec);
    outbox->send(FrameType::TransferDone,
                 encode_transfer_done(TransferEnd{outcome.bytes, outcome.unchanged, outcome.error,
                                                  outcome.connection_lost}));
    co_await finish_operation(*borrower, outcome.connection_lost);
  }

  std::string status_text() const {
    const auto now = Clock::now();
    std::string text = "deployd serve: pid " + std::to_string(::getpid()) + ", socket " +
                       socket_path(options_.folder) + ", sessions closed after " +
                       base::duration_text(options_.idle) + " idle\n";
    std::size_t lent = 0;
    for (const std::shared_ptr<Borrower>& borrower : borrowers_) lent += borrower->lent ? 1 : 0;
    text += std::to_string(idle_.size() + lent) + " warm session" +
            (idle_.size() + lent == 1 ? "" : "s") + ", " + std::to_string(lent) + " lent now\n";
    auto line = [&](const Warm& warm, const std::string& state) {
      text += label(warm.spec) + "  " + state + "  lent " + std::to_string(warm.lends) + " time" +
              (warm.lends == 1 ? "" : "s") + "  open " + base::elapsed_text(now - warm.opened);
      if (!warm.spec.identities.empty()) text += "  identity " + warm.spec.identities.front();
      text += "\n";
    };
    for (const Warm& warm : idle_) line(warm, "idle " + base::elapsed_text(now - warm.idle_since));
    for (const std::shared_ptr<Borrower>& borrower : borrowers_)
      if (borrower->lent) line(*borrower->lent, "in use");
    return text;
  }

  asio::io_context& io_;
  ServeOptions options_;
  Acceptor acceptor_;
  asio::steady_timer reaper_;
  bool is_stopping_ = false;
  int closing_ = 0;
  /// The process's umask, which the files a `get` writes get (runs with another one get directly).
  std::uint32_t umask_ = [] {
    const mode_t mask = ::umask(077);
    ::umask(mask);
    return static_cast<std::uint32_t>(mask);
  }();
  Clock::time_point last_activity_ = Clock::now();
  std::list<Warm> idle_;
  std::set<std::shared_ptr<Borrower>> borrowers_;
  std::shared_ptr<ssh::Client> client_;
  ssh::SourceCache sources_;  ///< `put` sources, each mapped once while runs use it
  std::map<std::string, std::string> stamps_;  ///< file -> file_stamp, as client_ read it
  std::set<std::string> unlocked_;             ///< identities client_ has unlocked
};

/// Raises the open files limit: each warm session holds a TCP socket, each borrower a Unix one.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int run_daemon(const ServeOptions& options) {
  if (std::string error = make_runtime_folder(options.folder); !error.empty()) {
    std::fprintf(stderr, "deployd: error: serve: %s\n", error.c_str());
    return 1;
  }
  // One daemon per folder: the lock is held for the daemon's life (two runs starting one at
  // once: the second sees it held and leaves the first serving).
  const std::string lock_path = options.folder + "/serve.lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock < 0) {
    std::fprintf(stderr, "deployd: error: serve: cannot open %s: %s\n", lock_path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    std::fprintf(stderr, "deployd serve: already running (socket %s)\n",
                 socket_path(options.folder).c_str());
    ::close(lock);
    return 0;
  }
  // No agent: a run with an agent sends the hosts that would use it directly (can_borrow), and
  // the daemon must not log in with an agent a run without one would not have used.
  ::unsetenv("SSH_AUTH_SOCK");
  ssh::init_library();
  raise_descriptor_limit();
  const std::string path = socket_path(options.folder);
  ::unlink(path.c_str());  // a socket left by a daemon that died: the lock says it is gone
  asio::io_context io(1);
  boost::system::error_code ec;
  Acceptor acceptor(io);
  const asio::local::stream_protocol::endpoint endpoint(path);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    const mode_t saved = ::umask(077);  // the socket 0600 from the start
    acceptor.bind(endpoint, ec);
    ::umask(saved);
  }
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "deployd: error: serve: cannot listen on %s: %s\n", path.c_str(),
                 ec.message().c_str());
    ::close(lock);
    return 1;
  }
  Daemon daemon(io, options, std::move(acceptor));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&daemon](const boost::system::error_code& error, int) {
    if (!error) daemon.stop();
  });
  log_line("serving uid " + std::to_string(::geteuid()) + " on " + path + " (pid " +
           std::to_string(::getpid()) + ")");
  asio::co_spawn(io, daemon.accept_loop(), asio::detached);
  asio::co_spawn(io, daemon.reap_loop(), asio::detached);
  asio::co_spawn(
      io,
      [&io, &daemon, &signals]() -> awaitable<void> {
        // Once stopping, sessions get a few seconds to disconnect in order.
        asio::steady_timer poll(io);
        while (true) {
          poll.expires_after(std::chrono::milliseconds(100));
          co_await poll.async_wait(asio::use_awaitable);
          if (daemon.is_stopping()) break;
        }
        boost::system::error_code ignored;
        signals.cancel(ignored);
        const auto deadline = Clock::now() + std::chrono::seconds(5);
        while (daemon.closing() > 0 && Clock::now() < deadline) {
          poll.expires_after(std::chrono::milliseconds(20));
          co_await poll.async_wait(asio::use_awaitable);
        }
        io.stop();
      },
      asio::detached);
  io.run();
  ::unlink(path.c_str());
  ::close(lock);
  return 0;
}

}  // namespace deployd::warm
