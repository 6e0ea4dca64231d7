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

#include "ssh/init.hpp"
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

/// One host's session, seen through the engine's seam.
class SshConnection final : public Connection {
 public:
  SshConnection(std::unique_ptr<ssh::Session> session, ssh::SourceCache& sources)
      : session_(std::move(session)), sources_(sources) {}

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
                         std::move(outcome.error), outcome.cancelled};
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

  awaitable<void> close() override { co_await session_->close(); }
  void cancel() override { session_->cancel(); }

 private:
  static TransferResult to_engine(ssh::TransferOutcome outcome) {
    return TransferResult{outcome.bytes, outcome.unchanged, std::move(outcome.error),
                          outcome.connection_lost};
  }

  std::unique_ptr<ssh::Session> session_;
  ssh::SourceCache& sources_;
};

class SshTransport final : public Transport {
 public:
  awaitable<ConnectResult> connect(const Host& host) override {
    auto spec = connection_spec(host);
    if (!host.via.empty()) {
      co_return ConnectResult{nullptr, ConnectFailure::Protocol, std::get<std::string>(spec)};
    }
    if (auto* error = std::get_if<std::string>(&spec)) {
      co_return ConnectResult{nullptr, ConnectFailure::Authentication, std::move(*error)};
    }
    if (!is_crypto_warm_) {
      // Runs as soon as this coroutine first waits on the network (TCP connect, then the
      // server's banner: sshd forks and re-execs first), instead of inside the key exchange.
      is_crypto_warm_ = true;
      boost::asio::post(co_await boost::asio::this_coro::executor, ssh::warm_up_crypto);
    }
    ssh::ConnectOutcome outcome = co_await client_.connect(std::get<ssh::ConnectionSpec>(spec));
    if (!outcome.session) {
      co_return ConnectResult{nullptr, to_engine(outcome.failure), std::move(outcome.error),
                              outcome.transient};
    }
    co_return ConnectResult{
        std::make_unique<SshConnection>(std::move(outcome.session), sources_), ConnectFailure::None, {}};
  }

  std::string prepare(const std::vector<const Host*>& hosts) override {
    std::vector<ssh::KeyUse> uses;
    std::set<std::string> seen;
    for (const Host* host : hosts) {
      std::string error;
      std::optional<std::string> passphrase =
          secret_from(host->passphrase_env, "passphrase_env", &error);
      if (!error.empty()) return host->name + ": " + error;
      const bool is_named = !host->identities.empty();
      for (const std::string& path : is_named ? host->identities : default_identities()) {
        if (seen.insert(path).second)
          uses.push_back(ssh::KeyUse{path, is_named, passphrase, host->passphrase_env});
      }
    }
    std::string error = client_.unlock_identities(uses, ask_on_terminal);
    for (const ssh::KeyUse& use : uses)
      if (use.is_named) warn_if_rsa(use.path);
    return error;
  }

  std::vector<std::string> finish() override { return client_.flush_known_hosts(); }

 private:
  ssh::Client client_;
  ssh::SourceCache sources_;  ///< each `put` source mapped once per run, shared by all hosts
  bool is_crypto_warm_ = false;
};

}  // namespace

std::variant<ssh::ConnectionSpec, std::string> connection_spec(const Host& host) {
  if (!host.via.empty()) return std::string("jump hosts (via) are not supported yet");
  ssh::ConnectionSpec spec;
  spec.name = host.name;
  spec.address = host.address.empty() ? host.name : host.address;
  spec.port = host.port;
  spec.user = host.user.empty() ? controller_user() : host.user;
  spec.identities = host.identities;
  spec.identities_only = host.identities_only;
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

std::unique_ptr<Transport> make_ssh_transport() { return std::make_unique<SshTransport>(); }

}  // namespace deployd::engine
