// SPDX-License-Identifier: MIT
// Sessions to the hosts that run steps on behalf of others (`delegate_to`, issue 18).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "deployd/plan.hpp"
#include "engine/transport.hpp"
#include "engine/wakeup.hpp"

namespace deployd::engine {

/// Delegated steps running at once on one delegate's session: stock OpenSSH's MaxSessions (the
/// channels sshd allows open at once on one connection; docs/ssh-notes.md, "MaxSessions").
inline constexpr int kMaxSessions = 10;

/// The hosts the selected tasks' steps are delegated to (not "local"), in plan order.
std::vector<const Host*> delegate_hosts(const Plan& plan, const std::vector<const Task*>& tasks);

/// Every host a run of `tasks` connects to: its hosts (run_hosts), then the delegate hosts not
/// among them. Transport::prepare reads their keys and known_hosts before any connection, so an
/// unreadable one is an error of the run, not of a host.
std::vector<const Host*> connected_hosts(const Plan& plan, const std::vector<const Task*>& tasks);

/// Delegates owns one session per delegate host, opened on the first delegated step and reused
/// by every host's delegated steps to it until the run ends. Each delegated step runs on a lane
/// of that session (Connection::lane: a channel of its own), at most kMaxSessions at once per
/// delegate; more wait in the order they come. A transport without lanes runs them one at a
/// time. A delegate that cannot be reached fails each step delegated to it with the reason.
/// One thread only.
class Delegates {
 public:
  Delegates(const Plan& plan, Transport& transport, Semaphore& connecting,
            boost::asio::any_io_executor executor);
  ~Delegates();
  Delegates(const Delegates&) = delete;
  Delegates& operator=(const Delegates&) = delete;

  /// The connection one delegated step uses: its exec runs on `name`'s shared session.
  std::unique_ptr<Connection> connection_to(const std::string& name);
  /// Closes every delegate session (at the end of the run).
  boost::asio::awaitable<void> close();

  struct Entry;

 private:
  const Plan& plan_;
  Transport& transport_;
  Semaphore& connecting_;
  boost::asio::any_io_executor executor_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace deployd::engine
