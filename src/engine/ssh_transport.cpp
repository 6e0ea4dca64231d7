// SPDX-License-Identifier: MIT
// The production Transport: plan hosts reached over SSH through ssh::Client.
#include "engine/ssh_transport.hpp"

#include <pwd.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdlib>

#include "engine/jump_pool.hpp"
#include "engine/jump_route.hpp"
#include "ssh/init.hpp"
#include "ssh/jump.hpp"
#include "ssh/session.hpp"

namespace deployd::engine {
namespace {

using boost::asio::awaitable;

std::string controller_user() {
  if (const passwd* entry = ::getpwuid(::geteuid()); entry != nullptr) return entry->pw_name;
  const char* user = std::getenv("USER");
  return user != nullptr ? user : "";
}

std::string home_path(const std::string& name) {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.ssh/" + name;
}

ssh::HostKeyCheck to_ssh(HostKeyCheck mode) {
  switch (mode) {
    case HostKeyCheck::Strict:
      return ssh::HostKeyCheck::Strict;
    case HostKeyCheck::AcceptNew:
      return ssh::HostKeyCheck::AcceptNew;
    case HostKeyCheck::Off:
      return ssh::HostKeyCheck::Off;
  }
  return ssh::HostKeyCheck::Strict;
}

ConnectFailure to_engine(ssh::ConnectFailure failure) {
  switch (failure) {
    case ssh::ConnectFailure::None:
      return ConnectFailure::None;
    case ssh::ConnectFailure::Unreachable:
      return ConnectFailure::Unreachable;
    case ssh::ConnectFailure::Authentication:
      return ConnectFailure::Authentication;
    case ssh::ConnectFailure::HostKey:
      return ConnectFailure::HostKey;
    case ssh::ConnectFailure::Protocol:
      return ConnectFailure::Protocol;
  }
  return ConnectFailure::Protocol;
}

/// Reads the environment variable a plan names for a secret; "" and an error if it is unset.
std::optional<std::string> secret_from(const std::string& variable, const char* key,
                                       std::string* error) {
  if (variable.empty()) return std::nullopt;
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr) {
    *error = std::string("environment variable \"") + variable + "\" (" + key + ") is not set";
    return std::nullopt;
  }
  return std::string(value);
}

using Pool = JumpPool<ssh::Jump>;

/// Adds why the jump host died to an error of a host behind it: the root cause, named.
std::string with_jump_cause(std::string error, const Pool::Lease& lease) {
  if (error.empty() || !lease) return error;
  const std::string cause = Pool::broken(lease);
  return cause.empty() ? error : error + " (" + cause + ")";
}

/// One host's session, seen through the engine's seam.
class SshConnection final : public Connection {
 public:
  SshConnection(std::unique_ptr<ssh::Session> session, ssh::SourceCache& sources, Pool& pool,
                Pool::Lease lease, boost::asio::any_io_executor executor)
      : session_(std::move(session)),
        sources_(sources),
        pool_(pool),
        lease_(std::move(lease)),
        executor_(std::move(executor)) {}
  SshConnection(const SshConnection&) = delete;
  SshConnection& operator=(const SshConnection&) = delete;
  /// Without close() (an exception in the host's coroutine), the jump host lease is still
  /// given back, or the jump host's pump would keep the io_context running forever.
  ~SshConnection() override {
    if (!lease_) return;
    boost::asio::co_spawn(executor_, pool_.release(std::move(lease_)), [](std::exception_ptr) {});
  }

  awaitable<ExecResult> exec(const ExecRequest& request) override {
    ssh::ExecSpec spec{request.command, {}, request.timeout};
    if (request.on_output) {
      spec.on_output = [&request](ssh::Stream stream, std::string_view chunk) {
        request.on_output(
            stream == ssh::Stream::Stdout ? OutputStream::Stdout : OutputStream::Stderr, chunk);
      };
    }
    ssh::ExecOutcome outcome = co_await session_->exec(spec);
    co_return ExecResult{outcome.exit_status, std::move(outcome.exit_signal), outcome.timed_out,
                         with_jump_cause(std::move(outcome.error), lease_)};
  }

  awaitable<TransferResult> put(const PutRequest& request) override {
    auto source = sources_.open(request.local_path);
    if (auto* error = std::get_if<std::string>(&source)) co_return TransferResult{0, false, *error, false};
    auto file = std::get<std::shared_ptr<ssh::SourceFile>>(std::move(source));
    const unsigned mode = request.mode.value_or(file->mode() & 0777);
    ssh::PutSpec spec{std::move(file), request.remote_path, mode, request.temp_tag, request.on_progress};
    co_return to_engine(co_await session_->put(spec));
  }

  awaitable<TransferResult> get(const GetRequest& request) override {
    ssh::GetSpec spec{request.remote_path, request.local_path, request.temp_tag, request.on_progress};
    co_return to_engine(co_await session_->get(spec));
  }

  awaitable<void> close() override {
    co_await session_->close();
    if (lease_) co_await pool_.release(std::move(lease_));
  }

 private:
  TransferResult to_engine(ssh::TransferOutcome outcome) const {
    std::string error = outcome.connection_lost ? with_jump_cause(std::move(outcome.error), lease_)
                                                : std::move(outcome.error);
    return TransferResult{outcome.bytes, outcome.unchanged, std::move(error),
                          outcome.connection_lost};
  }

  std::unique_ptr<ssh::Session> session_;
  ssh::SourceCache& sources_;
  Pool& pool_;
  Pool::Lease lease_;  ///< the jump host sessions this host goes through; empty: direct
  boost::asio::any_io_executor executor_;
};

class SshTransport final : public Transport {
 public:
  explicit SshTransport(const Plan* plan)
      : plan_(plan),
        pool_([this](const JumpHop& hop, ssh::Jump* via) { return open_jump(hop, via); },
              plan != nullptr ? plan->policy.max_connecting : Policy{}.max_connecting) {}

  awaitable<ConnectResult> connect(const Host& host) override {
    auto spec = connection_spec(host);
    if (auto* error = std::get_if<std::string>(&spec)) {
      co_return ConnectResult{nullptr, ConnectFailure::Authentication, std::move(*error)};
    }
    executor_ = co_await boost::asio::this_coro::executor;
    if (!is_crypto_warm_) {
      // Runs as soon as this coroutine first waits on the network (TCP connect, then the
      // server's banner: sshd forks and re-execs first), instead of inside the key exchange.
      is_crypto_warm_ = true;
      boost::asio::post(executor_, ssh::warm_up_crypto);
    }
    if (!host.via.empty())
      co_return co_await connect_via(host, std::get<ssh::ConnectionSpec>(spec));
    ssh::ConnectOutcome outcome = co_await client_.connect(std::get<ssh::ConnectionSpec>(spec));
    co_return to_result(std::move(outcome), {});
  }

 private:
  /// Through the route's jump hosts: the shared sessions, then the host's own session over a
  /// tunnel, at most max_connecting handshakes in flight per jump host.
  awaitable<ConnectResult> connect_via(const Host& host, const ssh::ConnectionSpec& spec) {
    static const std::vector<Host> kNoHosts;
    auto route = jump_route(host, plan_ != nullptr ? plan_->hosts : kNoHosts);
    if (auto* error = std::get_if<std::string>(&route)) {
      co_return ConnectResult{nullptr, ConnectFailure::Unreachable, std::move(*error)};
    }
    Pool::Acquired acquired = co_await pool_.acquire(std::get<std::vector<JumpHop>>(route));
    if (!acquired.lease) {
      co_return ConnectResult{nullptr, ConnectFailure::Unreachable, std::move(acquired.error)};
    }
    Pool::Lease lease = std::move(acquired.lease);
    ssh::ConnectOutcome outcome;
    {
      co_await lease->handshakes->acquire();
      Permit permit(*lease->handshakes);
      outcome = co_await client_.connect(spec, lease->jump.get());
    }
    if (!outcome.session) {
      const std::string cause = Pool::broken(lease);
      if (!cause.empty()) {
        outcome.error += " (" + cause + ")";
      } else if (outcome.failure == ssh::ConnectFailure::Unreachable) {
        outcome.error += " (via jump host \"" + lease->label + "\")";
      }
      co_await pool_.release(std::move(lease));
    }
    co_return to_result(std::move(outcome), std::move(lease));
  }

  awaitable<Pool::Opened> open_jump(const JumpHop& hop, ssh::Jump* via) {
    ssh::JumpOutcome outcome = co_await client_.open_jump(hop.spec, via);
    co_return Pool::Opened{std::move(outcome.jump), std::move(outcome.error)};
  }

  ConnectResult to_result(ssh::ConnectOutcome outcome, Pool::Lease lease) {
    if (!outcome.session) {
      return ConnectResult{nullptr, to_engine(outcome.failure), std::move(outcome.error)};
    }
    return ConnectResult{std::make_unique<SshConnection>(std::move(outcome.session), sources_,
                                                         pool_, std::move(lease), executor_),
                         ConnectFailure::None,
                         {}};
  }

  const Plan* plan_;
  ssh::Client client_;
  ssh::SourceCache sources_;  ///< each `put` source mapped once per run, shared by all hosts
  Pool pool_;
  boost::asio::any_io_executor executor_;  ///< the engine's, for releases without close()
  bool is_crypto_warm_ = false;
};

}  // namespace

std::variant<ssh::ConnectionSpec, std::string> connection_spec(const Host& host) {
  ssh::ConnectionSpec spec;
  spec.name = host.name;
  spec.address = host.address.empty() ? host.name : host.address;
  spec.port = host.port;
  spec.user = host.user.empty() ? controller_user() : host.user;
  spec.identities = host.identities;
  spec.known_hosts = host.known_hosts.empty() ? home_path("known_hosts") : host.known_hosts;
  spec.host_key_check = to_ssh(host.host_key_check);
  spec.connect_timeout = host.connect_timeout;
  spec.keepalive = host.keepalive;
  std::string error;
  spec.password = secret_from(host.password_env, "password_env", &error);
  if (error.empty()) spec.passphrase = secret_from(host.passphrase_env, "passphrase_env", &error);
  if (!error.empty()) return error;
  return spec;
}

std::unique_ptr<Transport> make_ssh_transport(const Plan* plan) {
  return std::make_unique<SshTransport>(plan);
}

}  // namespace deployd::engine
