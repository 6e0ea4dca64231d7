// SPDX-License-Identifier: MIT
// Delegated steps' sessions: opened once per delegate, a channel per step (see delegates.hpp).
#include "engine/delegates.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "engine/engine.hpp"

namespace deployd::engine {

namespace asio = boost::asio;

std::vector<const Host*> delegate_hosts(const Plan& plan, const std::vector<const Task*>& tasks) {
  std::set<std::string> names;
  for (const Task* task : tasks)
    for (const Step& step : task->steps)
      if (!step.delegate_to.empty() && step.kind != StepKind::Local) names.insert(step.delegate_to);
  std::vector<const Host*> hosts;
  for (const Host& host : plan.hosts)
    if (names.count(host.name)) hosts.push_back(&host);
  return hosts;
}

std::vector<const Host*> connected_hosts(const Plan& plan, const std::vector<const Task*>& tasks) {
  std::vector<const Host*> hosts = run_hosts(plan, tasks);
  for (const Host* delegate : delegate_hosts(plan, tasks))
    if (std::find(hosts.begin(), hosts.end(), delegate) == hosts.end()) hosts.push_back(delegate);
  return hosts;
}

struct Delegates::Entry {
  const Host* host = nullptr;
  /// Shared with the steps running on it: a step that finds it broken drops the entry's
  /// reference (the next step connects again) while others may still be on their lanes.
  std::shared_ptr<Connection> connection;
  std::string error;  ///< set: the delegate could not be reached; every step to it fails
  std::optional<Semaphore> channels;  ///< kMaxSessions delegated steps at once
  std::optional<Semaphore> opening;   ///< one connect at a time
  std::optional<Semaphore> turn;      ///< one step at a time on a connection without lanes
  std::optional<bool> has_lanes;      ///< known after the first step: the transport has lanes
};

namespace {

/// One delegated step's view of the delegate's session: it waits for a channel, connects if no
/// step did yet, and runs on a lane of its own. Transfers are refused by the loader (`run`
/// steps only).
class DelegatedConnection final : public Connection {
 public:
  DelegatedConnection(Delegates::Entry& entry, Transport& transport, Semaphore& connecting)
      : entry_(entry), transport_(transport), connecting_(connecting) {}

  asio::awaitable<ExecResult> exec(const ExecRequest& request) override {
    co_await entry_.channels->acquire();
    Permit channel(*entry_.channels);
    if (!entry_.connection && entry_.error.empty()) {
      co_await entry_.opening->acquire();
      Permit opening(*entry_.opening);
      if (!entry_.connection && entry_.error.empty()) co_await connect();
    }
    if (!entry_.connection)
      co_return ExecResult{
          .error = fmt::format("delegate_to \"{}\": {}", entry_.host->name, entry_.error)};
    std::shared_ptr<Connection> session = entry_.connection;
    std::unique_ptr<Connection> lane = session->lane();
    // The first step learns whether the transport has lanes; without, steps take turns.
    if (!entry_.has_lanes) entry_.has_lanes = lane != nullptr;
    if (!lane && *entry_.has_lanes)  // never on the same session as running lanes
      co_return ExecResult{
          .error = fmt::format("delegate_to \"{}\": cannot open another channel on its session",
                               entry_.host->name)};
    std::optional<Permit> turn;
    if (!lane) {
      co_await entry_.turn->acquire();
      turn.emplace(*entry_.turn);
    }
    // A cancel stops this exec only: the step then stops its remote processes through us.
    if (std::exchange(is_cancelled_, false)) {
      if (lane) co_await lane->close();
      co_return ExecResult{.cancelled = true};
    }
    active_ = lane ? lane.get() : session.get();
    ExecResult result = co_await active_->exec(request);
    active_ = nullptr;
    is_cancelled_ = false;
    if (lane) co_await lane->close();
    if (!result.error.empty()) {
      // The session is unusable: the next delegated step connects again; the last step on it
      // closes it.
      if (entry_.connection == session) entry_.connection.reset();
      if (session.use_count() == 1) co_await session->close();
      result.error = fmt::format("delegate_to \"{}\": {}", entry_.host->name, result.error);
    }
    co_return result;
  }
  asio::awaitable<TransferResult> put(const PutRequest&) override { co_return refused(); }
  asio::awaitable<TransferResult> get(const GetRequest&) override { co_return refused(); }
  asio::awaitable<void> close() override { co_return; }  // the session outlives the step
  void cancel() override {
    is_cancelled_ = true;
    if (active_) active_->cancel();
  }

 private:
  asio::awaitable<void> connect() {
    co_await connecting_.acquire();
    Permit permit(connecting_);
    ConnectResult connected = co_await transport_.connect(*entry_.host);
    if (connected.connection)
      entry_.connection = std::move(connected.connection);
    else
      entry_.error = connected.error.empty() ? "cannot connect" : connected.error;
  }

  static TransferResult refused() {
    TransferResult result;
    result.error = "internal error: a file transfer delegated to another host";
    return result;
  }

  Delegates::Entry& entry_;
  Transport& transport_;
  Semaphore& connecting_;
  Connection* active_ = nullptr;  ///< the delegate's session while this step's command runs
  bool is_cancelled_ = false;
};

}  // namespace

Delegates::Delegates(const Plan& plan, Transport& transport, Semaphore& connecting,
                     asio::any_io_executor executor)
    : plan_(plan), transport_(transport), connecting_(connecting), executor_(std::move(executor)) {}

Delegates::~Delegates() = default;

std::unique_ptr<Connection> Delegates::connection_to(const std::string& name) {
  std::unique_ptr<Entry>& entry = entries_[name];
  if (!entry) {
    entry = std::make_unique<Entry>();
    entry->host = plan_.find_host(name);  // the loader checked that it is a plan host
    entry->channels.emplace(executor_, kMaxSessions);
    entry->opening.emplace(executor_, 1);
    entry->turn.emplace(executor_, 1);
  }
  return std::make_unique<DelegatedConnection>(*entry, transport_, connecting_);
}

asio::awaitable<void> Delegates::close() {
  for (auto& [name, entry] : entries_)
    if (entry->connection) co_await entry->connection->close();
}

}  // namespace deployd::engine
