// SPDX-License-Identifier: MIT
// One session per jump host, shared by every host behind it and closed after the last one.
#pragma once

#include <boost/asio/this_coro.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "engine/jump_route.hpp"
#include "engine/wakeup.hpp"

namespace deployd::engine {

/// Shares jump host sessions: hosts whose routes start alike share the sessions of the common
/// hops, each opened once (later hosts wait for the first opening), reference counted, and
/// closed when the last host using it releases it. A hop that failed to open stays failed for
/// the run, so the hosts behind it fail at once with the same reason. `Jump` is ssh::Jump in
/// production (anything with `broken()` and an awaitable `close()` in tests). One thread only.
template <class Jump>
class JumpPool {
 public:
  /// A newly opened jump host session, or why it failed (one line, without the hop's name).
  struct Opened {
    std::unique_ptr<Jump> jump;
    std::string error;
  };
  /// Opens `hop`'s session through `via` (the previous hop's session; nullptr for the first).
  using Opener = std::function<boost::asio::awaitable<Opened>(const JumpHop& hop, Jump* via)>;

  /// One hop's shared session and who uses it.
  struct Entry {
    std::string label;
    std::string key;
    std::unique_ptr<Jump> jump;
    std::string error;  ///< set: the hop failed to open; whole message naming the hop
    bool is_opening = true;
    int users = 0;
    std::shared_ptr<Entry> parent;  ///< the previous hop, held while this one is open
    std::vector<std::shared_ptr<Wakeup>> waiters;
    std::optional<Semaphore> handshakes;  ///< sessions being opened through this hop
  };
  using Lease = std::shared_ptr<Entry>;

  /// The last hop's session (holding the hops before it), or why there is none.
  struct Acquired {
    Lease lease;
    std::string error;
  };

  JumpPool(Opener opener, int handshakes_per_jump)
      : opener_(std::move(opener)), handshakes_per_jump_(handshakes_per_jump) {}

  boost::asio::awaitable<Acquired> acquire(const std::vector<JumpHop>& route) {
    co_return co_await acquire_hop(route, route.size() - 1);
  }

  /// Gives a lease back; the session closes when its last user is gone.
  boost::asio::awaitable<void> release(Lease lease) {
    while (lease) {
      if (--lease->users > 0 || !lease->error.empty()) co_return;
      const auto found = entries_.find(lease->key);
      if (found != entries_.end() && found->second == lease) entries_.erase(found);
      if (!lease->jump->broken().empty()) remember_failed(*lease, broken(lease));
      co_await lease->jump->close();
      lease = std::move(lease->parent);
    }
  }

  /// Why the outermost broken hop of a lease's route died, naming it; "" if all work.
  static std::string broken(const Lease& lease) {
    std::string reason;
    for (Entry* entry = lease.get(); entry != nullptr; entry = entry->parent.get()) {
      if (entry->jump && !entry->jump->broken().empty()) reason = lost(*entry);
    }
    return reason;
  }

  /// Jump host sessions open now.
  int open_count() const {
    int count = 0;
    for (const auto& [key, entry] : entries_) count += entry->jump != nullptr;
    return count;
  }

 private:
  static std::string lost(const Entry& entry) {
    return "jump host \"" + entry.label + "\" lost: " + entry.jump->broken();
  }

  /// Later routes through a hop that died fail at once instead of dialling it again.
  void remember_failed(const Entry& entry, std::string error) {
    auto failed = std::make_shared<Entry>();
    failed->label = entry.label;
    failed->key = entry.key;
    failed->error = std::move(error);
    failed->is_opening = false;
    entries_.emplace(entry.key, std::move(failed));
  }

  boost::asio::awaitable<Acquired> acquire_hop(const std::vector<JumpHop>& route,
                                               std::size_t index) {
    const JumpHop& hop = route[index];
    if (auto found = entries_.find(hop.key); found != entries_.end()) {
      Lease entry = found->second;
      if (entry->jump && !entry->jump->broken().empty()) co_return Acquired{nullptr, broken(entry)};
      ++entry->users;
      while (entry->is_opening) {
        auto waiter = std::make_shared<Wakeup>(co_await boost::asio::this_coro::executor);
        entry->waiters.push_back(waiter);
        co_await waiter->wait();
      }
      if (!entry->error.empty()) co_return Acquired{nullptr, entry->error};
      co_return Acquired{std::move(entry), ""};
    }
    auto entry = std::make_shared<Entry>();
    entry->label = hop.label;
    entry->key = hop.key;
    entry->users = 1;
    entry->handshakes.emplace(co_await boost::asio::this_coro::executor, handshakes_per_jump_);
    entries_.emplace(hop.key, entry);
    std::string error;
    if (index > 0) {
      Acquired parent = co_await acquire_hop(route, index - 1);
      entry->parent = std::move(parent.lease);
      error = std::move(parent.error);
    }
    if (error.empty()) {
      Opened opened = co_await opener_(hop, entry->parent ? entry->parent->jump.get() : nullptr);
      entry->jump = std::move(opened.jump);
      if (!entry->jump) error = "jump host \"" + hop.label + "\": " + opened.error;
    }
    entry->is_opening = false;
    entry->error = error;
    for (auto& waiter : entry->waiters) waiter->notify();
    entry->waiters.clear();
    if (!error.empty()) {
      co_await release(std::move(entry->parent));
      co_return Acquired{nullptr, error};
    }
    co_return Acquired{std::move(entry), ""};
  }

  Opener opener_;
  int handshakes_per_jump_;
  std::map<std::string, Lease> entries_;
};

}  // namespace deployd::engine
