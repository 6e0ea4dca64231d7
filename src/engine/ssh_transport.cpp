// SPDX-License-Identifier: MIT
// The production Transport: plan hosts reached over SSH through ssh::Client.
#include "engine/ssh_transport.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "async/awaitable.hpp"
#include "engine/jump_pool.hpp"
#include "engine/jump_route.hpp"
#include "ssh/init.hpp"
#include "ssh/jump.hpp"
#include "ssh/session.hpp"
#include "ssh/ssh_error.hpp"

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

/// ~/.ssh/id_ed25519, id_ecdsa and id_rsa, those that exist (tried when no identity is given).
std::vector<std::string> default_identities() {
  std::vector<std::string> paths;
  for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
    std::error_code ec;
    if (std::filesystem::exists(home_path(name), ec)) paths.push_back(home_path(name));
  }
  return paths;
}

/// Asks for a key's passphrase once on /dev/tty, without echo; nullopt without a terminal.
std::optional<std::string> ask_on_terminal(const std::string& path) {
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty < 0) return std::nullopt;
  termios saved{};
  const bool is_terminal = ::tcgetattr(tty, &saved) == 0;
  const std::string prompt = "Enter passphrase for key " + path + ": ";
  std::optional<std::string> answer;
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  // Echo off before the prompt shows (as readpassphrase(3)): an answer typed as soon as the
  // prompt appears must not be flushed by the change of mode, nor echoed.
  if (is_terminal && ::tcsetattr(tty, TCSAFLUSH, &quiet) == 0 &&
      ::write(tty, prompt.data(), prompt.size()) >= 0) {
    std::string line;
    char c = 0;
    while (::read(tty, &c, 1) == 1 && c != '\n' && c != '\r') line += c;
    answer = std::move(line);
  }
  if (is_terminal) ::tcsetattr(tty, TCSANOW, &saved);
  if (answer && ::write(tty, "\n", 1) < 0) {
    // The newline is cosmetic.
  }
  ::close(tty);
  return answer;
}

std::string known_hosts_path(const Host& host) {
  return host.known_hosts.empty() ? home_path("known_hosts") : host.known_hosts;
}

/// libssh2 1.10 signs RSA keys with ssh-rsa only: say so before the run, once per key.
void warn_if_rsa(const std::string& path) {
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bool is_rsa = first.find("RSA PRIVATE KEY") != std::string::npos;
  if (!is_rsa && first.find("OPENSSH PRIVATE KEY") != std::string::npos) {
    auto parsed = ssh::parse_openssh_key(first + "\n" + text);
    is_rsa = parsed.key && parsed.key->type == "ssh-rsa";
  }
  if (is_rsa)
    std::fprintf(stderr, "deployd: warning: %s is an RSA key: %s\n", path.c_str(), ssh::kRsaAdvice);
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
    ssh::ExecSpec spec{request.command, {}, request.timeout, request.input};
    if (request.on_output) {
      spec.on_output = [&request](ssh::Stream stream, std::string_view chunk) {
        request.on_output(
            stream == ssh::Stream::Stdout ? OutputStream::Stdout : OutputStream::Stderr, chunk);
      };
    }
    ssh::ExecOutcome outcome = co_await session_->exec(spec);
    co_return ExecResult{outcome.exit_status, signal_name(outcome.exit_signal), outcome.timed_out,
                         with_jump_cause(std::move(outcome.error), lease_), outcome.cancelled};
  }

  awaitable<TransferResult> put(const PutRequest& request) override {
    co_return to_engine(co_await put_on(*session_, sources_, request));
  }

  awaitable<TransferResult> get(const GetRequest& request) override {
    ssh::GetSpec spec{request.remote_path, request.local_path, request.temp_tag,
                      request.on_progress, request.mode,       request.max_size,
                      request.sudo_user,   request.recursive};
    co_return to_engine(co_await session_->get(spec));
  }

  awaitable<void> close() override {
    co_await session_->close();
    if (lease_) co_await pool_.release(std::move(lease_));
  }
  void cancel() override { session_->cancel(); }
  std::unique_ptr<Connection> lane() override {
    std::unique_ptr<ssh::Session> lane = session_->open_lane();
    if (!lane) return nullptr;
    return std::make_unique<SshConnection>(std::move(lane), sources_, pool_, Pool::Lease{},
                                           executor_);
  }

 private:
  TransferResult to_engine(ssh::TransferOutcome outcome) const {
    return to_engine(TransferResult{outcome.bytes, outcome.unchanged, std::move(outcome.error),
                                    outcome.connection_lost});
  }
  TransferResult to_engine(TransferResult result) const {
    if (result.connection_lost) result.error = with_jump_cause(std::move(result.error), lease_);
    return result;
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
      : pool_([this](const JumpHop& hop, ssh::Jump* via) { return open_jump(hop, via); },
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

  std::string prepare(const std::vector<const Host*>& targets) override {
    std::vector<ssh::KeyUse> uses;
    std::set<std::string> seen;
    std::vector<const Host*> hosts = targets;  // and their jump hosts, whose keys are their own
    for (const Host* target : targets)
      for (const Host& hop : target->via_hosts) hosts.push_back(&hop);
    for (const Host* host : hosts) {
      // A known_hosts file that cannot be read fails every host that uses it: said once, here.
      if (host->host_key_check != HostKeyCheck::Off) {
        const std::string path = known_hosts_path(*host);
        const bool strict = host->host_key_check == HostKeyCheck::Strict;
        if (std::string error = client_.load_known_hosts(path, strict); !error.empty()) {
          return error + " (the known_hosts of host \"" + host->name + "\", host_key_check " +
                 ssh::to_string(to_ssh(host->host_key_check)) + ")";
        }
      }
      std::string error;
      std::optional<std::string> passphrase =
          secret_from(host->passphrase_env, "passphrase_env", &error);
      if (!error.empty()) return host->name + ": " + error;
      const bool is_named = !host->identities.empty();
      const auto source = host->sources.find("identity");
      const bool is_from_ssh_config =
          source != host->sources.end() && source->second.starts_with("ssh_config");
      for (const std::string& path : is_named ? host->identities : default_identities()) {
        // ssh_config's IdentityFile lines often name keys this machine lacks: OpenSSH skips
        // those, and so does deployd (the host's authentication error lists them).
        std::error_code ec;
        if (is_from_ssh_config && !std::filesystem::exists(path, ec)) continue;
        if (seen.insert(path).second)
          uses.push_back(ssh::KeyUse{path, is_named, passphrase, host->passphrase_env});
      }
    }
    std::string error = client_.unlock_identities(uses, ask_on_terminal);
    for (const ssh::KeyUse& use : uses)
      if (use.is_named) warn_if_rsa(use.path);
    return error;
  }

  std::vector<std::string> finish() override {
    std::vector<std::string> warnings = client_.flush_known_hosts();
    for (std::string& warning : warnings)
      warning += ": the new host keys of this run were not saved";
    return warnings;
  }

 private:
  /// Through the route's jump hosts: the shared sessions, then the host's own session over a
  /// tunnel, at most max_connecting handshakes in flight per jump host.
  awaitable<ConnectResult> connect_via(const Host& host, const ssh::ConnectionSpec& spec) {
    auto route = jump_route(host);
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
      return ConnectResult{nullptr, to_engine(outcome.failure), std::move(outcome.error), outcome.transient};
    }
    return ConnectResult{std::make_unique<SshConnection>(std::move(outcome.session), sources_,
                                                         pool_, std::move(lease), executor_),
                         ConnectFailure::None,
                         {}};
  }

  ssh::Client client_;
  ssh::SourceCache sources_;  ///< each `put` source mapped once per run, shared by all hosts
  Pool pool_;
  boost::asio::any_io_executor executor_;  ///< the engine's, for releases without close()
  bool is_crypto_warm_ = false;
};

}  // namespace

awaitable<TransferResult> put_on(ssh::Session& session, ssh::SourceCache& sources,
                                 const PutRequest& request) {
  std::shared_ptr<ssh::SourceTree> folder;
  std::shared_ptr<ssh::SourceFile> file;
  if (request.content) {  // a rendered template: its bytes, made for this host
    file = ssh::SourceFile::from_bytes(request.local_path, *request.content,
                                       request.mode.value_or(0644));
  } else if (request.recursive) {
    auto tree = ssh::SourceTree::open(request.local_path, sources);
    if (auto* error = std::get_if<std::string>(&tree))
      co_return TransferResult{0, false, *error, false};
    folder = std::get<std::shared_ptr<ssh::SourceTree>>(std::move(tree));
  } else {
    auto source = sources.open(request.local_path);
    if (auto* error = std::get_if<std::string>(&source))
      co_return TransferResult{0, false, *error, false};
    file = std::get<std::shared_ptr<ssh::SourceFile>>(std::move(source));
  }
  const unsigned mode = request.mode.value_or((folder ? folder->mode : file->mode()) & 0777);
  ssh::PutSpec spec{file, request.remote_path, mode, request.temp_tag, request.on_progress};
  spec.sudo_user = request.sudo_user;
  spec.owner = request.owner;
  spec.group = request.group;
  spec.tree = std::move(folder);
  ssh::TransferOutcome outcome = co_await session.put(spec);
  co_return TransferResult{outcome.bytes, outcome.unchanged, std::move(outcome.error),
                           outcome.connection_lost};
}

/// An exit-signal name as the host sent it is data, not text to print: at most 32 bytes, and
/// anything but letters, digits and `._-+@` becomes `?` (a hostile host sent 30,000 bytes and
/// escape sequences). Real names are short words: "KILL", "TERM", "USR1@example.com".
std::string signal_name(std::string_view name) {
  constexpr std::size_t kLongest = 32;
  std::string safe;
  for (char c : name.substr(0, kLongest)) {
    const bool is_plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') ||
                          std::string_view("._-+@").find(c) != std::string_view::npos;
    safe += is_plain ? c : '?';
  }
  if (name.size() > kLongest) safe += "...";
  return safe;
}

std::variant<ssh::ConnectionSpec, std::string> connection_spec(const Host& host) {
  ssh::ConnectionSpec spec;
  spec.name = host.name;
  spec.address = host.address.empty() ? host.name : host.address;
  spec.port = host.port;
  spec.user = host.user.empty() ? controller_user() : host.user;
  spec.identities = host.identities;
  spec.identities_only = host.identities_only;
  spec.known_hosts = known_hosts_path(host);
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
  ssh::init_library();  // once per process; here so that no caller above engine needs ssh/
  return std::make_unique<SshTransport>(plan);
}

}  // namespace deployd::engine
