// SPDX-License-Identifier: MIT
// The seam between the engine and the machines it works on: SSH in production, a fake in tests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "async/awaitable.hpp"
#include "base/exec_result.hpp"
#include "deployd/event.hpp"
#include "deployd/plan.hpp"

namespace deployd::engine {

/// One command to run on an open connection.
struct ExecRequest {
  std::string command;  ///< the exec text: `sh -s` (or `sh -c` text), sudo already applied
  /// Receives output as it arrives, in chunks that may split lines anywhere.
  std::function<void(OutputStream, std::string_view)> on_output;
  std::optional<Duration> timeout;  ///< unset: none
  /// Sent on the command's stdin, which is then closed (EOF, as `ssh -n`): the script of `sh -s`.
  std::string input;
};

using base::ExecResult;

/// Bytes done so far and the total, called as a transfer goes.
using TransferProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// One file to upload (a `put` step, paths already interpolated).
struct PutRequest {
  std::string local_path;   ///< on the controller, already joined with the plan's folder
  std::string remote_path;  ///< where the file appears, whole or not at all
  std::optional<unsigned> mode;  ///< unset: the local file's permission bits
  std::string temp_tag;  ///< starts the temporary file's name (`.NAME.deployd-TAG-RANDOM.tmp`): the run id
  TransferProgress on_progress;
  std::optional<std::string> sudo_user;  ///< set: installed as this user via `sudo -n` ("": root)
  std::string owner;                     ///< "": the installing user's
  std::string group;                     ///< "": the installing user's group
  bool recursive = false;                ///< `local_path` is a folder, sent whole (issue 18)
  /// Set: these bytes are sent, not `local_path`'s, which only names them in messages (a
  /// rendered template, issue 18); `mode` unset means 0644.
  std::optional<std::string> content;
};

/// One file to download (a `get` step).
struct GetRequest {
  std::string remote_path;
  std::string local_path;  ///< parent folders are created; written through a temporary file
  std::string temp_tag;
  TransferProgress on_progress;
  std::optional<unsigned> mode;           ///< unset: the remote file's permission bits
  std::optional<std::uint64_t> max_size;  ///< a larger remote file is refused
  std::optional<std::string> sudo_user;   ///< set: read as this user via `sudo -n` ("": root)
  bool recursive = false;                 ///< `remote_path` is a folder, fetched whole (issue 18)
};

/// How a transfer ended: `error` is empty on success, else one line naming the path and cause.
struct TransferResult {
  std::uint64_t bytes = 0;       ///< bytes sent or received
  bool unchanged = false;        ///< put: the remote file already had this size and sha256
  std::string error;
  bool connection_lost = false;  ///< the session is unusable: the host stops
};

/// Why a connection could not be opened; decides the host's reported status.
enum class ConnectFailure { None, Unreachable, Authentication, HostKey, Protocol };

/// An open session to one host; every step of that host goes through it, one at a time.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual boost::asio::awaitable<ExecResult> exec(const ExecRequest& request) = 0;
  /// Uploads one file through a temporary name and a rename; skips an identical file.
  virtual boost::asio::awaitable<TransferResult> put(const PutRequest& request) = 0;
  /// Downloads one file through a local temporary name and a rename.
  virtual boost::asio::awaitable<TransferResult> get(const GetRequest& request) = 0;
  /// Orderly disconnect. Never throws; safe to call once after any failure.
  virtual boost::asio::awaitable<void> close() = 0;
  /// Stops waiting for the operation in flight, as soon as possible: a command returns with
  /// `cancelled` (the remote process is left to the caller to stop), a transfer fails and takes
  /// the session with it. Does nothing between operations.
  virtual void cancel() = 0;
  /// A view of this connection whose exec runs on a channel of its own, at the same time as
  /// other lanes' (delegated steps, issue 18); its cancel() stops its own command only. Close
  /// it after its commands; close this connection after its lanes. nullptr: the transport
  /// cannot, and commands take turns on the connection.
  virtual std::unique_ptr<Connection> lane() { return nullptr; }
};

/// The result of a connection attempt: a connection, or the failure and its one-line reason.
struct ConnectResult {
  std::unique_ptr<Connection> connection;
  ConnectFailure failure = ConnectFailure::None;
  std::string error;  ///< e.g. `connect 127.0.0.1:22: connection refused` (no host prefix)
  /// The failure may pass if tried again (refused, reset, timed out); never for authentication
  /// or host key failures.
  bool transient = false;
};

/// Opens connections to hosts. Implementations run on the engine's one thread.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual boost::asio::awaitable<ConnectResult> connect(const Host& host) = 0;
  /// Before any connection: what must be done once for these hosts (keys decrypted, a
  /// passphrase asked); returns an error that stops the run before it starts, or "".
  virtual std::string prepare(const std::vector<const Host*>& /*hosts*/) { return ""; }
  /// After the run: writes what the run learnt (accept-new host keys); returns a warning, as the
  /// user reads it, for each thing it could not write.
  virtual std::vector<std::string> finish() { return {}; }
};

}  // namespace deployd::engine
