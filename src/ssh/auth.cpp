// SPDX-License-Identifier: MIT
// User authentication: the given identities (else the agent, then ~/.ssh keys), then a password.
#include <libssh2.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ssh/session_impl.hpp"
#include "ssh/ssh_error.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// The attempts made so far, for the failure message.
struct Tried {
  std::vector<std::string> labels;
  bool has_rsa = false;
  int rc = 0;  ///< the last libssh2 result
};

/// ~/.ssh/id_ed25519, id_ecdsa and id_rsa, those that exist (plan-format.md, `identity`).
std::vector<std::string> default_identities() {
  std::vector<std::string> paths;
  const char* home = std::getenv("HOME");
  if (home == nullptr) return paths;
  for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
    std::string path = std::string(home) + "/.ssh/" + name;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) paths.push_back(std::move(path));
  }
  return paths;
}

/// True when authentication is over: logged in, or the connection is gone.
bool is_final(const Link& link, int rc) {
  return rc == 0 || is_connection_error(rc) || rc == kInterrupted || link.is_aborted;
}

/// `rc` of a failed attempt, or the connection's loss if the server hung up meanwhile: libssh2
/// 1.10 reports that as a refused key (link.hpp), and another key would be tried in vain.
int unless_lost(Link& link, int rc) {
  if (is_final(link, rc)) return rc;
  const int lost = link.connection_loss();
  return lost != 0 ? lost : rc;
}

/// An encrypted key the agent holds: the agent signs with it, the file is never decrypted.
awaitable<int> try_agent_key(Link& link, const ConnectionSpec& spec, const Identity& identity,
                             Tried& tried) {
  tried.labels.push_back(identity.path() + " (from the agent)");
  LIBSSH2_AGENT* agent = libssh2_agent_init(link.session);
  int rc = agent != nullptr ? libssh2_agent_connect(agent) : LIBSSH2_ERROR_AGENT_PROTOCOL;
  if (rc == 0) rc = libssh2_agent_list_identities(agent);
  libssh2_agent_publickey* key = nullptr;
  bool is_found = false;
  while (rc == 0 && !is_found && libssh2_agent_get_identity(agent, &key, key) == 0)
    is_found = std::string_view(reinterpret_cast<const char*>(key->blob), key->blob_len) ==
               identity.public_blob();
  if (is_found) {
    rc = co_await call(link, [&] { return libssh2_agent_userauth(agent, spec.user.c_str(), key); });
  } else {
    rc = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
  }
  if (agent != nullptr) {
    libssh2_agent_disconnect(agent);
    libssh2_agent_free(agent);
  }
  co_return rc;
}

awaitable<int> try_identity(Link& link, const ConnectionSpec& spec, const Identity& identity,
                            Tried& tried) {
  tried.has_rsa = tried.has_rsa || identity.is_rsa();
  if (!identity.error().empty()) {
    tried.labels.push_back(identity.path() + " (" + identity.error() + ")");
    co_return LIBSSH2_ERROR_FILE;
  }
  if (identity.is_in_agent()) co_return co_await try_agent_key(link, spec, identity, tried);
  if (identity.is_encrypted() && !identity.can_sign() && !spec.passphrase) {
    tried.labels.push_back(identity.path() + " (encrypted, and no passphrase_env given)");
    co_return LIBSSH2_ERROR_FILE;
  }
  tried.labels.push_back(identity.path());
  const char* user = spec.user.c_str();
  if (identity.can_sign()) {
    void* abstract = const_cast<Identity*>(&identity);
    const auto* blob = reinterpret_cast<const unsigned char*>(identity.public_blob().data());
    co_return co_await call(link, [&] {
      return libssh2_userauth_publickey(link.session, user, blob, identity.public_blob().size(),
                                        &Identity::sign, &abstract);
    });
  }
  // Other key types and encrypted keys: libssh2 reads the file, the fastest of its loaders
  // (_frommemory costs ~2.3 ms/host through OpenSSL 3's decoders: docs/ssh-notes.md, "Key
  // parsing cost").
  const char* passphrase = spec.passphrase ? spec.passphrase->c_str() : nullptr;
  co_return co_await call(link, [&] {
    return libssh2_userauth_publickey_fromfile_ex(link.session, user,
                                                  static_cast<unsigned>(spec.user.size()), nullptr,
                                                  identity.path().c_str(), passphrase);
  });
}

/// Offers each key the agent holds until one is accepted.
awaitable<int> offer_agent_keys(Link& link, const ConnectionSpec& spec, LIBSSH2_AGENT* agent,
                                Tried& tried) {
  int rc = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
  int count = 0;
  libssh2_agent_publickey* identity = nullptr;
  while (libssh2_agent_get_identity(agent, &identity, identity) == 0) {
    ++count;
    const std::string_view blob(reinterpret_cast<const char*>(identity->blob), identity->blob_len);
    tried.has_rsa = tried.has_rsa || (blob.size() > 11 && blob.substr(4, 7) == "ssh-rsa");
    rc = co_await call(link,
                       [&] { return libssh2_agent_userauth(agent, spec.user.c_str(), identity); });
    if (is_final(link, rc)) break;
  }
  tried.labels.push_back(count == 0 ? "agent (no keys)" : "agent");
  co_return rc;
}

/// Why SSH_AUTH_SOCK names no agent socket (a stale value from another login), or "".
std::string agent_socket_problem() {
  const char* path = std::getenv("SSH_AUTH_SOCK");
  if (path == nullptr) return "";
  struct stat info {};
  std::string problem;
  if (::stat(path, &info) != 0) {
    problem = std::strerror(errno);
    if (!problem.empty())
      problem[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(problem[0])));
  } else if (!S_ISSOCK(info.st_mode)) {
    problem = "not a socket";
  }
  return problem.empty() ? "" : "not running: SSH_AUTH_SOCK " + std::string(path) + ": " + problem;
}

// libssh2_agent_connect and _list_identities talk to ssh-agent over a blocking Unix socket, and
// the agent signs inside libssh2_agent_userauth. That stalls the one io thread for ~50 us per
// call (docs/ssh-notes.md, "Agent calls are synchronous"): bounded, and small next to a
// handshake. An agent that asks the user to confirm each use would stall every session, so the
// agent is used only when SSH_AUTH_SOCK is set and the plan names no identity.
awaitable<int> try_agent(Link& link, const ConnectionSpec& spec, Tried& tried) {
  LIBSSH2_AGENT* agent = libssh2_agent_init(link.session);
  if (agent == nullptr) {
    tried.labels.push_back("agent (unavailable)");
    co_return LIBSSH2_ERROR_AUTHENTICATION_FAILED;
  }
  int rc = libssh2_agent_connect(agent);
  if (rc == 0) rc = libssh2_agent_list_identities(agent);
  if (rc == 0) {
    rc = co_await offer_agent_keys(link, spec, agent, tried);
  } else {
    std::string why = agent_socket_problem();
    if (why.empty()) why = describe(link.session, rc, "unavailable");
    tried.labels.push_back("agent (" + why + ")");
    rc = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
  }
  libssh2_agent_disconnect(agent);
  libssh2_agent_free(agent);
  co_return rc;
}

awaitable<int> try_password(Link& link, const ConnectionSpec& spec, Tried& tried) {
  tried.labels.push_back("password");
  const std::string& password = *spec.password;
  co_return co_await call(link, [&] {
    return libssh2_userauth_password_ex(link.session, spec.user.c_str(),
                                        static_cast<unsigned>(spec.user.size()), password.c_str(),
                                        static_cast<unsigned>(password.size()), nullptr);
  });
}

std::string tried_text(const Tried& tried) {
  std::string text = "tried ";
  for (std::size_t i = 0; i < tried.labels.size(); ++i) {
    text += (i > 0 ? ", " : "") + tried.labels[i];
  }
  return text;
}

std::string failure_message(const ConnectionSpec& spec, const Tried& tried) {
  std::string message = "authentication failed for user \"" + spec.user + "\" (";
  if (tried.labels.empty()) {
    message +=
        "nothing to try: no identity given, SSH_AUTH_SOCK unset, no ~/.ssh/id_ed25519, "
        "id_ecdsa or id_rsa, no password_env";
  } else {
    message += tried_text(tried);
  }
  message += ")";
  if (tried.has_rsa) message += std::string(": ") + kRsaAdvice;
  return message;
}

}  // namespace

awaitable<AuthResult> authenticate(Link& link, const ConnectionSpec& spec,
                                   IdentityCache& identities, const std::string& endpoint) {
  Tried tried;
  int rc = LIBSSH2_ERROR_AUTHENTICATION_FAILED;
  const bool use_agent =
      spec.identities.empty() && !spec.identities_only && std::getenv("SSH_AUTH_SOCK") != nullptr;
  if (use_agent) rc = unless_lost(link, co_await try_agent(link, spec, tried));
  const auto paths = spec.identities.empty() ? default_identities() : spec.identities;
  for (auto path = paths.begin(); path != paths.end() && !is_final(link, rc); ++path) {
    rc = unless_lost(link, co_await try_identity(link, spec, identities.get(*path), tried));
  }
  if (spec.password && !is_final(link, rc)) {
    rc = unless_lost(link, co_await try_password(link, spec, tried));
  }
  if (rc == 0) co_return AuthResult{};
  if (is_connection_error(rc) || link.is_aborted) {
    std::string error = describe(link.session, rc, "authentication with " + endpoint);
    if (!tried.labels.empty()) error += " (" + tried_text(tried) + ")";
    co_return AuthResult{std::move(error), true};
  }
  co_return AuthResult{failure_message(spec, tried), false};
}

}  // namespace deployd::ssh
