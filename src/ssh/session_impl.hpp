// SPDX-License-Identifier: MIT
// The insides of ssh::Session and ssh::Client, shared by the files that implement them.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "ssh/identity.hpp"
#include "ssh/jump.hpp"
#include "ssh/known_hosts.hpp"
#include "ssh/link.hpp"
#include "ssh/session.hpp"

typedef struct _LIBSSH2_CHANNEL LIBSSH2_CHANNEL;
typedef struct _LIBSSH2_SFTP LIBSSH2_SFTP;

namespace deployd::ssh {

/// What every session of a run shares: each known_hosts file and each key is read once.
struct Client::Shared {
  KnownHostsCache known_hosts;
  IdentityCache identities;
};

/// A connected, authenticated session.
struct Session::Impl {
  explicit Impl(const boost::asio::any_io_executor& executor) : link(executor) {}

  Link link;
  std::string name;    ///< the host's name, for `-v` lines
  std::string broken;  ///< why the session can no longer be used; "" while it can
  bool is_closed = false;
  /// Channels of timed-out commands whose CLOSE the server has not confirmed yet.
  std::vector<LIBSSH2_CHANNEL*> abandoned;
  LIBSSH2_SFTP* sftp = nullptr;  ///< opened by the first put or get, then reused
  /// More SFTP channels, opened by the first recursive put that wants them (folder_send.cpp).
  std::vector<LIBSSH2_SFTP*> more_sftp;
  bool is_more_sftp_refused = false;  ///< the host refused one: no more are asked for
  /// The next command's channel, opened while the current command runs so that a step costs
  /// one round trip (its exec), not two (open, then exec). libssh2 1.10 keeps a pending open's
  /// state in the session: the next libssh2_channel_open_ex with the same arguments completes
  /// it (`open_ahead`), and any other channel open (SFTP) must wait until it has.
  bool open_ahead = false;
  LIBSSH2_CHANNEL* spare = nullptr;  ///< an open channel ahead, already confirmed
  /// Keepalive interval as libssh2 uses it (0: none; 1 s becomes 2 s). A keepalive left
  /// unanswered for twice as long (+1 s, as libssh2 counts whole seconds) while a command runs
  /// means the peer is gone (channel_exec.cpp).
  std::chrono::seconds keepalive{0};
  /// What the session is doing, so that Session::cancel() knows how to stop it.
  enum class Busy { Idle, Exec, Transfer } busy = Busy::Idle;
  bool cancel_requested = false;  ///< Session::cancel() during an exec
};

/// Marks the session busy with one operation for as long as it lives.
class BusyScope {
 public:
  BusyScope(Session::Impl& impl, Session::Impl::Busy what) : impl_(impl) {
    impl_.busy = what;
    impl_.cancel_requested = false;
  }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;
  ~BusyScope() { impl_.busy = Session::Impl::Busy::Idle; }

 private:
  Session::Impl& impl_;
};

/// Runs one command on a new channel of the session (channel_exec.cpp).
boost::asio::awaitable<ExecOutcome> run_exec(Session::Impl& impl, const ExecSpec& spec);

/// Uploads a file through a temporary name and a rename (sftp_transfer.cpp).
boost::asio::awaitable<TransferOutcome> run_put(Session::Impl& impl, const PutSpec& spec);

/// Downloads a file through a local temporary name and a rename (sftp_transfer.cpp).
boost::asio::awaitable<TransferOutcome> run_get(Session::Impl& impl, const GetSpec& spec);

/// Completes a channel open sent ahead (keeping the channel as `spare`), so that another kind
/// of channel may be opened (channel_exec.cpp).
boost::asio::awaitable<void> settle_open_ahead(Session::Impl& impl);

/// Frees the abandoned channels the server has closed meanwhile, without waiting for the others.
boost::asio::awaitable<void> reap_abandoned(Session::Impl& impl);

/// Starts the pump of a jump host's authenticated session (jump.cpp).
std::unique_ptr<Jump> start_jump(std::unique_ptr<Session::Impl> session);

/// What authenticate() found: "" on success, else the whole failure message.
struct AuthResult {
  std::string error;
  bool is_connection_lost = false;  ///< the server hung up or the link broke: not a key problem
};

/// Logs in with the spec's identities, else the agent and the default keys, then a password
/// (auth.cpp).
boost::asio::awaitable<AuthResult> authenticate(Link& link, const ConnectionSpec& spec,
                                                IdentityCache& identities,
                                                const std::string& endpoint);

}  // namespace deployd::ssh
