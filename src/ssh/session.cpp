// SPDX-License-Identifier: MIT
// Opening a session (resolve, TCP connect, handshake, host key, authentication) and closing it.
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <cctype>
#include <cerrno>
#include <optional>
#include <vector>

#include "async/awaitable.hpp"
#include "base/duration_text.hpp"
#include "ssh/alarm.hpp"
#include "ssh/debug_log.hpp"
#include "ssh/session_impl.hpp"
#include "ssh/ssh_error.hpp"
#include "ssh/stall_watch.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;
using boost::asio::ip::tcp;

/// How long an orderly close may take before the socket is simply shut down.
constexpr std::chrono::seconds kSessionCloseTimeout{5};

/// The steps of opening a session, named in timeout messages.
enum class Phase { Resolve, Connect, Tunnel, Handshake, Authentication };

const char* to_string(Phase phase) {
  switch (phase) {
    case Phase::Resolve:
      return "resolve";
    case Phase::Connect:
      return "tcp connect";
    case Phase::Tunnel:
      return "tunnel through the jump host";
    case Phase::Handshake:
      return "ssh handshake";
    case Phase::Authentication:
      return "authentication";
  }
  return "connect";
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().to_string();
  const std::string host = endpoint.address().is_v6() ? "[" + address + "]" : address;
  return host + ":" + std::to_string(endpoint.port());
}

std::string error_text(const boost::system::error_code& ec) {
  std::string text = ec.message();
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

/// One connection attempt: its link, where it is, and the connect_timeout watchdog's verdict.
struct Opening {
  const ConnectionSpec& spec;
  Client::Shared& shared;
  Link& link;
  Jump* via = nullptr;  ///< set: the connection is a tunnel through this jump host
  Phase phase = Phase::Resolve;
  std::chrono::steady_clock::time_point phase_started = std::chrono::steady_clock::now();
  bool is_timed_out = false;
  bool is_dns_unanswered = false;  ///< the lookup failed for want of an answer (EAI_AGAIN)
  std::optional<tcp::resolver> resolver;
  std::string endpoint;  ///< the endpoint being dialled, for messages
  /// `-v`: when the handshake first received bytes (the server's banner), to split the
  /// handshake into the banner exchange and the key exchange.
  std::optional<std::chrono::steady_clock::time_point> banner_at;

  /// `-v`: says how long the phase that ends took, then starts `next`.
  void enter(Phase next) {
    log_phase_end();
    phase = next;
    phase_started = std::chrono::steady_clock::now();
  }
  void log_phase_end() const {
    if (!is_debug_logging()) return;
    const auto now = std::chrono::steady_clock::now();
    std::string split;
    if (phase == Phase::Handshake && banner_at) {
      split = " (banner " + format_phase(*banner_at - phase_started) + ", key exchange " +
              format_phase(now - *banner_at) + ")";
    }
    debug_log(spec.name + ": " + to_string(phase) + " done in " +
              format_phase(now - phase_started) + split +
              (endpoint.empty() ? "" : " (" + endpoint + ")"));
  }

  void on_timeout() {
    is_timed_out = true;
    if (resolver) resolver->cancel();
    link.abort();
  }

  ConnectOutcome fail(ConnectFailure failure, std::string error) const {
    if (is_timed_out) {
      failure = ConnectFailure::Unreachable;
      const std::string what =
          phase == Phase::Resolve ? "resolve \"" + spec.address + "\"" : "connect " + endpoint;
      error = what + ": timed out after " + base::duration_text(spec.connect_timeout) + " (" +
              to_string(phase) + ")";
    }
    // A refused, reset or silent host, or a DNS server that did not answer, may answer a moment
    // later (a thousand lookups at once can overload a resolver); a name that does not resolve,
    // a key or a login that was refused will not.
    const bool transient = failure == ConnectFailure::Unreachable &&
                           (phase != Phase::Resolve || is_timed_out || is_dns_unanswered);
    return ConnectOutcome{nullptr, failure, std::move(error), transient};
  }
};

/// The endpoints to dial: an IP literal as is, a name through the async resolver.
awaitable<std::vector<tcp::endpoint>> resolve(Opening& opening, std::string* error) {
  const ConnectionSpec& spec = opening.spec;
  const auto port = static_cast<unsigned short>(spec.port);
  boost::system::error_code ec;
  const auto literal = boost::asio::ip::make_address(spec.address, ec);
  if (!ec) co_return std::vector{tcp::endpoint(literal, port)};
  opening.resolver.emplace(co_await boost::asio::this_coro::executor);
  const auto results = co_await opening.resolver->async_resolve(
      spec.address, std::to_string(spec.port), tcp::resolver::numeric_service,
      boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  opening.resolver.reset();
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  if (ec || endpoints.empty()) {
    std::string cause = describe_resolve_error(NO_DATA, "");  // no error, and no address
    if (ec) cause = error_text(ec);
    if (ec && ec.category() == boost::asio::error::get_netdb_category()) {
      cause = describe_resolve_error(ec.value(), cause);
      opening.is_dns_unanswered = ec.value() == TRY_AGAIN;
    }
    *error = "resolve \"" + spec.address + "\": " + cause;
  }
  co_return endpoints;
}

/// Dials each endpoint in turn; TCP_NODELAY from the start (docs/ssh-notes.md, "Delayed ACK
/// stalls", 1).
awaitable<std::string> connect_tcp(Opening& opening, const std::vector<tcp::endpoint>& endpoints) {
  std::string error;
  tcp::socket& socket = opening.link.socket;
  for (const tcp::endpoint& endpoint : endpoints) {
    opening.endpoint = endpoint_text(endpoint);
    boost::system::error_code ec;
    socket.close(ec);
    socket.open(endpoint.protocol(), ec);
    if (!ec) socket.set_option(tcp::no_delay(true), ec);
    if (!ec) {
      co_await socket.async_connect(endpoint,
                                    boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    // libssh2 must find the socket non-blocking, or it toggles the mode behind Asio's back.
    if (!ec) socket.non_blocking(true, ec);
    if (!ec) co_return "";
    error = "connect " + opening.endpoint + ": " + error_text(ec);
    if (opening.is_timed_out) break;
  }
  co_return error;
}

/// Creates the libssh2 session on the connected socket and runs the handshake.
awaitable<ConnectOutcome> handshake(Opening& opening) {
  const ConnectionSpec& spec = opening.spec;
  Link& link = opening.link;
  link.session = libssh2_session_init_ex(nullptr, nullptr, nullptr, &link);
  if (link.session == nullptr) {
    co_return opening.fail(ConnectFailure::Protocol, "cannot allocate a libssh2 session");
  }
  link.watch_traffic();
  libssh2_session_set_blocking(link.session, 0);
  KnownHostsFile& known = opening.shared.known_hosts.get(spec.known_hosts);
  const std::string methods = known.preferred_methods(
      {known_hosts_name(spec.address, spec.port), known_hosts_name(spec.name, spec.port)});
  libssh2_session_method_pref(link.session, LIBSSH2_METHOD_HOSTKEY, methods.c_str());
  // Whole seconds (libssh2 counts with time()); 0 disables, anything shorter than 1 s is 1 s.
  const auto interval = std::chrono::ceil<std::chrono::seconds>(spec.keepalive).count();
  libssh2_keepalive_config(link.session, 1, static_cast<unsigned>(interval));

  const auto fd = link.socket.native_handle();
  // libssh2 reads the server's banner, then goes on into the key exchange in the same call: the
  // first input noted after a call that blocked is the banner's arrival (to a wake-up).
  const bool is_timed = is_debug_logging();
  const auto quiet_since = link.last_input;  // watch_traffic() set it: no input yet
  int rc = co_await call(link, [&] {
    const int result = libssh2_session_handshake(link.session, fd);
    if (is_timed && !opening.banner_at && link.last_input > quiet_since) {
      opening.banner_at = link.last_input;
    }
    return result;
  });
  if (rc == 0) co_return ConnectOutcome{};
  std::string what = "ssh handshake with " + opening.endpoint;
  // A server that hangs up during the key exchange must not read as a protocol problem (it
  // would not be retried); KEX_FAILURE (no algorithm in common) keeps its advice.
  if (!is_connection_error(rc) && rc != LIBSSH2_ERROR_KEX_FAILURE) {
    if (const int lost = link.connection_loss(); lost != 0) {
      if (rc == LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE) what += " (key exchange)";
      rc = lost;
    }
  }
  const auto failure =
      is_connection_error(rc) ? ConnectFailure::Unreachable : ConnectFailure::Protocol;
  co_return opening.fail(failure, describe(link.session, rc, what));
}

/// A transfer's host is taken for gone after the same silence as a command's: two keepalive
/// intervals + 1 s (none when keepalives are off).
std::chrono::seconds transfer_stall_limit(const Session::Impl& impl) {
  if (impl.keepalive.count() == 0) return std::chrono::seconds(0);
  return 2 * impl.keepalive + std::chrono::seconds(1);
}

/// The outcome of a transfer whose host stopped answering (StallWatch shut the link down).
TransferOutcome stalled(Session::Impl& impl, TransferOutcome outcome) {
  outcome.error = "no answer from the host for " + base::duration_text(2 * impl.keepalive) +
                  " during the transfer (keepalive every " + base::duration_text(impl.keepalive) +
                  "): connection lost";
  outcome.connection_lost = true;
  impl.broken = outcome.error;
  return outcome;
}

awaitable<ConnectOutcome> open_session(Opening& opening);

/// Opens a direct-tcpip channel through the jump host; the link's socket is its local end
/// (a socketpair: no TCP options, no quick ACKs).
awaitable<std::string> connect_tunnel(Opening& opening) {
  const ConnectionSpec& spec = opening.spec;
  opening.endpoint = spec.address + ":" + std::to_string(spec.port);
  const auto deadline = Alarm::Clock::now() + spec.connect_timeout;
  TunnelOutcome tunnel = co_await opening.via->open_tunnel(spec.address, spec.port, deadline);
  if (!tunnel.error.empty()) co_return "tunnel to " + opening.endpoint + ": " + tunnel.error;
  boost::system::error_code ec;
  opening.link.socket.assign(tcp::v4(), tunnel.fd, ec);
  if (ec) {
    ::close(tunnel.fd);
    co_return "tunnel socket: " + error_text(ec);
  }
  opening.link.quickack = false;
  co_return "";
}

/// The phases in order; the first failure ends the attempt.
awaitable<ConnectOutcome> open(Opening& opening) {
  std::string error;
  if (opening.via != nullptr) {
    opening.phase = Phase::Tunnel;
    error = co_await connect_tunnel(opening);
    if (!error.empty()) co_return opening.fail(ConnectFailure::Unreachable, error);
    co_return co_await open_session(opening);
  }
  const std::vector<tcp::endpoint> endpoints = co_await resolve(opening, &error);
  if (!error.empty() || opening.is_timed_out) {
    co_return opening.fail(ConnectFailure::Unreachable, error);
  }
  opening.enter(Phase::Connect);
  error = co_await connect_tcp(opening, endpoints);
  if (!error.empty()) co_return opening.fail(ConnectFailure::Unreachable, error);
  co_return co_await open_session(opening);
}

/// Handshake, host key and authentication on the connected link.
awaitable<ConnectOutcome> open_session(Opening& opening) {
  opening.enter(Phase::Handshake);
  ConnectOutcome outcome = co_await handshake(opening);
  if (outcome.failure != ConnectFailure::None) co_return outcome;
  std::string error =
      check_host_key(opening.shared.known_hosts, opening.link.session, opening.spec);
  if (!error.empty()) co_return opening.fail(ConnectFailure::HostKey, error);

  opening.enter(Phase::Authentication);
  const AuthResult auth = co_await authenticate(opening.link, opening.spec,
                                                opening.shared.identities, opening.endpoint);
  if (auth.error.empty()) {
    opening.log_phase_end();
    co_return ConnectOutcome{};
  }
  const auto failure =
      auth.is_connection_lost ? ConnectFailure::Unreachable : ConnectFailure::Authentication;
  co_return opening.fail(failure, auth.error);
}

}  // namespace

Client::Client() : shared_(std::make_unique<Shared>()) {}
Client::~Client() = default;

std::string Client::unlock_identities(const std::vector<KeyUse>& uses, const AskPassphrase& ask) {
  return ssh::unlock_identities(shared_->identities, uses, ask);
}

std::string Client::load_known_hosts(const std::string& path, bool strict) {
  const KnownHostsFile& file = shared_->known_hosts.get(path);
  if (strict && file.is_missing())
    return "cannot read " + path +
           ": no such file, so no host key can be checked (create it, or let "
           "host_key_check accept-new record the keys once)";
  return file.load_error();
}

std::vector<std::string> Client::flush_known_hosts() { return shared_->known_hosts.flush(); }

std::string Client::check_host_key(Session& session, const ConnectionSpec& spec) {
  LIBSSH2_SESSION* raw = session.impl_->link.session;
  if (raw == nullptr) return "the session is closed";
  return ssh::check_host_key(shared_->known_hosts, raw, spec);
}

namespace {

/// Opens one session (direct or through `via`) under the connect_timeout watchdog.
awaitable<ConnectOutcome> open_within_timeout(const ConnectionSpec& spec, Client::Shared& shared,
                                              Jump* via, std::unique_ptr<Session::Impl>& impl) {
  const auto executor = co_await boost::asio::this_coro::executor;
  impl = std::make_unique<Session::Impl>(executor);
  impl->name = spec.name;
  Opening opening{spec, shared, impl->link, via};
  Alarm watchdog(executor);
  watchdog.arm(Alarm::Clock::now() + spec.connect_timeout, [&opening] { opening.on_timeout(); });
  ConnectOutcome outcome = co_await open(opening);
  watchdog.disarm();
  if (outcome.failure == ConnectFailure::None && opening.is_timed_out) {
    outcome = opening.fail(ConnectFailure::Unreachable, "");
  }
  if (outcome.failure != ConnectFailure::None) {
    impl.reset();  // ~Impl tears the link down
    co_return outcome;
  }
  // libssh2_keepalive_config makes an interval of 1 s 2 s: count with the interval it uses.
  impl->keepalive = std::chrono::ceil<std::chrono::seconds>(spec.keepalive);
  if (impl->keepalive == std::chrono::seconds(1)) impl->keepalive = std::chrono::seconds(2);
  impl->link.last_input = Alarm::Clock::now();
  co_return outcome;
}

}  // namespace

awaitable<ConnectOutcome> Client::connect(const ConnectionSpec& spec, Jump* via) {
  std::unique_ptr<Session::Impl> impl;
  ConnectOutcome outcome = co_await open_within_timeout(spec, *shared_, via, impl);
  if (impl) outcome.session = std::make_unique<Session>(std::move(impl));
  co_return outcome;
}

awaitable<JumpOutcome> Client::open_jump(const ConnectionSpec& spec, Jump* via) {
  std::unique_ptr<Session::Impl> impl;
  ConnectOutcome outcome = co_await open_within_timeout(spec, *shared_, via, impl);
  if (!impl) co_return JumpOutcome{nullptr, outcome.failure, std::move(outcome.error)};
  co_return JumpOutcome{start_jump(std::move(impl)), ConnectFailure::None, {}};
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

awaitable<ExecOutcome> Session::exec(const ExecSpec& spec) {
  if (impl_->is_closed) co_return ExecOutcome{{}, {}, false, "the session is closed"};
  BusyScope busy(*impl_, Impl::Busy::Exec);
  ExecOutcome outcome = co_await run_exec(*impl_, spec);
  // A lane's command is over (or abandoned to the server): its channel is another lane's now.
  if (Link& link = impl_->link; link.main != nullptr) link.main->hub->release_channel(link);
  co_return outcome;
}

awaitable<TransferOutcome> Session::put(const PutSpec& spec) {
  if (impl_->is_closed) co_return TransferOutcome{0, false, "the session is closed", true};
  BusyScope busy(*impl_, Impl::Busy::Transfer);
  StallWatch watch(impl_->link, transfer_stall_limit(*impl_));
  TransferOutcome outcome = co_await run_put(*impl_, spec);
  co_return watch.has_fired() ? stalled(*impl_, std::move(outcome)) : outcome;
}

void Session::cancel() {
  switch (impl_->busy) {
    case Impl::Busy::Exec:
      impl_->cancel_requested = true;
      impl_->link.wake();
      break;
    case Impl::Busy::Transfer:
      // SFTP has no clean way out of a half-sent file: the session goes, the temp file stays.
      impl_->broken = "the transfer was cancelled";
      impl_->link.abort();
      break;
    case Impl::Busy::Idle:
      break;
  }
}

bool Session::is_usable() const {
  const Link& link = impl_->link;
  if (impl_->is_closed || !impl_->broken.empty() || link.is_aborted || link.session == nullptr)
    return false;
  char byte = 0;
  const ssize_t got =
      ::recv(const_cast<Link&>(link).socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got > 0) return true;  // data waiting (a keepalive, a global request): libssh2 reads it
  return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

awaitable<TransferOutcome> Session::get(const GetSpec& spec) {
  if (impl_->is_closed) co_return TransferOutcome{0, false, "the session is closed", true};
  BusyScope busy(*impl_, Impl::Busy::Transfer);
  StallWatch watch(impl_->link, transfer_stall_limit(*impl_));
  TransferOutcome outcome = co_await run_get(*impl_, spec);
  co_return watch.has_fired() ? stalled(*impl_, std::move(outcome)) : outcome;
}

std::unique_ptr<Session> Session::open_lane() {
  Link& main = impl_->link;
  if (impl_->is_closed || main.main != nullptr || !main.socket.is_open()) return nullptr;
  const auto executor = main.socket.get_executor();
  const int fd = ::dup(main.socket.native_handle());
  if (fd < 0) return nullptr;
  auto lane = std::make_unique<Impl>(executor);
  boost::system::error_code ec;
  lane->link.socket.assign(tcp::v4(), fd, ec);  // the protocol only names the family to Asio
  if (ec) {
    ::close(fd);
    return nullptr;
  }
  if (!main.hub) main.hub = std::make_unique<LaneHub>(executor);
  main.hub->lanes.push_back(&lane->link);
  lane->link.main = &main;
  lane->link.session = main.session;
  lane->link.quickack = false;
  lane->link.last_input = main.last_input;
  lane->name = impl_->name;
  lane->broken = impl_->broken;
  lane->keepalive = impl_->keepalive;
  return std::make_unique<Session>(std::move(lane));
}

awaitable<void> Session::close() {
  if (impl_->is_closed) co_return;
  impl_->is_closed = true;
  Link& link = impl_->link;
  if (!impl_->abandoned.empty()) co_await reap_abandoned(*impl_);
  if (link.main != nullptr) {
    // A lane: the channels of its commands still running go to the main session's close.
    for (LIBSSH2_CHANNEL* channel : impl_->abandoned) link.main->hub->abandoned.push_back(channel);
    impl_->abandoned.clear();
    link.release();
    co_return;
  }
  if (link.hub) {
    for (void* channel : link.hub->abandoned)
      impl_->abandoned.push_back(static_cast<LIBSSH2_CHANNEL*>(channel));
    link.hub->abandoned.clear();
    if (!impl_->abandoned.empty()) co_await reap_abandoned(*impl_);
  }
  if (impl_->broken.empty() && !link.is_aborted) {
    const auto executor = co_await boost::asio::this_coro::executor;
    Alarm guard(executor);
    guard.arm(Alarm::Clock::now() + kSessionCloseTimeout, [&link] { link.abort(); });
    link.interrupt = false;
    for (LIBSSH2_SFTP* sftp : impl_->more_sftp)
      co_await call(link, [&] { return libssh2_sftp_shutdown(sftp); });
    impl_->more_sftp.clear();
    if (impl_->sftp != nullptr) {
      co_await call(link, [&] { return libssh2_sftp_shutdown(impl_->sftp); });
      impl_->sftp = nullptr;
    }
    const auto started = std::chrono::steady_clock::now();
    co_await call(link, [&] {
      return libssh2_session_disconnect_ex(link.session, SSH_DISCONNECT_BY_APPLICATION,
                                           "deployd: done", "");
    });
    if (is_debug_logging()) {
      debug_log(impl_->name + ": disconnect done in " +
                format_phase(std::chrono::steady_clock::now() - started));
    }
    // Freeing a session frees its channels, and an abandoned one would wait for its command,
    // a channel opened ahead for the server's CLOSE, which after our DISCONNECT never comes:
    // with one left, the session is freed the abortive way by release().
    const bool has_channels = !impl_->abandoned.empty() || impl_->open_ahead || impl_->spare;
    if (!has_channels &&
        co_await call(link, [&] { return libssh2_session_free(link.session); }) == 0) {
      link.session = nullptr;
    }
  }
  for (LIBSSH2_SFTP* sftp : impl_->more_sftp) {  // as the first one, below
    if (!link.is_aborted) link.abort();
    for (int tries = 0; tries < 100 && libssh2_sftp_shutdown(sftp) == LIBSSH2_ERROR_EAGAIN;)
      ++tries;
  }
  impl_->more_sftp.clear();
  if (impl_->sftp != nullptr) {
    // A broken or aborted session: libssh2_session_free frees the SFTP channel but not the
    // requests that closed handles left pending (LeakSanitizer found them), which only
    // libssh2_sftp_shutdown frees. On an aborted link every send fails at once: no waiting.
    if (!link.is_aborted) link.abort();
    for (int tries = 0;
         tries < 100 && libssh2_sftp_shutdown(impl_->sftp) == LIBSSH2_ERROR_EAGAIN;) {
      ++tries;
    }
    impl_->sftp = nullptr;
  }
  link.release();
}

}  // namespace deployd::ssh
