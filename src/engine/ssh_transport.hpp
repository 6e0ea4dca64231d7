// SPDX-License-Identifier: MIT
// The production Transport: plan hosts reached over SSH through ssh::Client.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "engine/transport.hpp"
#include "ssh/connection_spec.hpp"

namespace deployd::ssh {
class Session;
class SourceCache;
}  // namespace deployd::ssh

namespace deployd::engine {

/// A Transport whose connect() opens an ssh::Session on the calling coroutine's executor (the
/// engine's one io_context thread); libssh2 is initialised on the first call. `plan`
/// (kept, may be null) names the hosts a `via` may refer to and gives max_connecting, applied
/// per jump host to the handshakes through it.
std::unique_ptr<Transport> make_ssh_transport(const Plan* plan = nullptr);

/// The connection settings of `host` for ssh/, or why there are none (an unset password_env).
std::variant<ssh::ConnectionSpec, std::string> connection_spec(const Host& host);

/// Uploads `request` (a file, or a folder when recursive) over `session`, its source mapped
/// through `sources` (the SSH transport's, and deployd serve's for the runs it serves).
boost::asio::awaitable<TransferResult> put_on(ssh::Session& session, ssh::SourceCache& sources,
                                              const PutRequest& request);

/// An exit-signal name from a host, made safe to print: at most 32 bytes of `[A-Za-z0-9._@+-]`.
std::string signal_name(std::string_view name);

}  // namespace deployd::engine
