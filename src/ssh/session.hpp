// SPDX-License-Identifier: MIT
// An open SSH session to one host, and the client that opens sessions.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "async/awaitable.hpp"
#include "ssh/connection_spec.hpp"
#include "ssh/identity.hpp"
#include "ssh/sftp.hpp"

namespace deployd::ssh {

class Jump;

enum class Stream { Stdout, Stderr };

/// One command to run on a session's new channel.
struct ExecSpec {
  std::string command;
  std::function<void(Stream, std::string_view)> on_output;  ///< chunks as they arrive
  std::optional<std::chrono::milliseconds> timeout;         ///< unset: none
  /// Written to the command's stdin right after it starts; stdin is then closed (EOF), always.
  std::string input;
};

/// How a command ended: exactly one of exit_status, exit_signal, timed_out, error, cancelled
/// describes it.
struct ExecOutcome {
  std::optional<int> exit_status;
  std::string exit_signal;  ///< without "SIG", e.g. "KILL"
  bool timed_out = false;
  std::string error;  ///< the connection failed; the session is unusable
  bool cancelled = false;  ///< Session::cancel() stopped the wait; the command may still run
};

/// An authenticated session; runs one command at a time (libssh2: one operation per session).
class Session {
 public:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  /// Aborts the connection if close() was not awaited (shutdown, free, close: docs/ssh-notes.md,
  /// "Teardown order").
  ~Session();

  boost::asio::awaitable<ExecOutcome> exec(const ExecSpec& spec);
  /// Uploads one file over SFTP; like exec, one operation at a time on the session.
  boost::asio::awaitable<TransferOutcome> put(const PutSpec& spec);
  /// Downloads one file over SFTP.
  boost::asio::awaitable<TransferOutcome> get(const GetSpec& spec);
  /// Orderly disconnect; never throws; a second call does nothing.
  boost::asio::awaitable<void> close();
  /// A lane of this session (issue 18): another Session whose exec runs on a channel of its own,
  /// at the same time as the other lanes' (the server's MaxSessions bounds how many). Once it
  /// has lanes, this session runs nothing itself; close the lanes, then it. nullptr if the
  /// socket cannot be duplicated.
  std::unique_ptr<Session> open_lane();
  /// Stops the operation in flight: an exec stops waiting and returns `cancelled` (its channel
  /// is closed, the session goes on); a transfer fails and the session is dropped. Idle: nothing.
  void cancel();
  /// Idle, can it still carry a command? False once broken, closed, or the server hung up
  /// (end of stream or a reset waiting on the socket: a peek, no libssh2 call). For sessions
  /// kept between runs (warm/), which nobody reads while they wait.
  bool is_usable() const;

 private:
  friend class Client;
  std::unique_ptr<Impl> impl_;
};

/// Why a session could not be opened.
enum class ConnectFailure { None, Unreachable, Authentication, HostKey, Protocol };

/// A session, or why there is none, in one line without the host's name as prefix.
struct ConnectOutcome {
  std::unique_ptr<Session> session;
  ConnectFailure failure = ConnectFailure::None;
  std::string error;
  bool transient = false;  ///< may pass if tried again: refused, reset, timed out
};

/// A jump host's session, or why there is none.
struct JumpOutcome {
  std::unique_ptr<Jump> jump;
  ConnectFailure failure = ConnectFailure::None;
  std::string error;
};

/// Opens sessions on the calling coroutine's executor; holds what a run's sessions share
/// (known_hosts files and identities, each read and parsed once).
class Client {
 public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// TCP connect, handshake, host key check and authentication within spec.connect_timeout.
  /// With `via`, the TCP connection is a tunnel through that jump host instead.
  boost::asio::awaitable<ConnectOutcome> connect(const ConnectionSpec& spec, Jump* via = nullptr);
  /// Like connect(), for a jump host whose session will carry tunnels (ssh/jump.hpp).
  boost::asio::awaitable<JumpOutcome> open_jump(const ConnectionSpec& spec, Jump* via = nullptr);
  /// Before any connection: decrypts each encrypted key once (or finds it in the agent).
  std::string unlock_identities(const std::vector<KeyUse>& uses, const AskPassphrase& ask);
  /// Before any connection: loads a known_hosts file; returns why it cannot be read, or "" (a
  /// missing file reads as empty).
  /// `strict`: a missing file is an error too, as no key could be checked (issue 19: said once,
  /// before connecting, not once per host).
  std::string load_known_hosts(const std::string& path, bool strict = false);
  /// Writes the host keys accept-new recorded, one append per file; returns the errors.
  std::vector<std::string> flush_known_hosts();
  /// Checks the host key `session` was opened with against this client's known_hosts, as a new
  /// connection to `spec` would be checked; the reason to refuse it, or "" (warm/: a session
  /// kept between runs is lent only if the key still passes).
  std::string check_host_key(Session& session, const ConnectionSpec& spec);

  struct Shared;  ///< defined in session_impl.hpp

 private:
  std::unique_ptr<Shared> shared_;
};

}  // namespace deployd::ssh
