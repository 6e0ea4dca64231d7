// SPDX-License-Identifier: MIT
// Delegated steps' sessions: opened once per delegate, shared in turns (see delegates.hpp).
#include "engine/delegates.hpp"

#include <fmt/format.h>

#include <optional>
#include <set>

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

struct Delegates::Entry {
  const Host* host = nullptr;
  std::unique_ptr<Connection> connection;
  std::string error;  ///< set: the delegate could not be reached; every step to it fails
  std::optional<Semaphore> turn;  ///< one delegated step on the session at a time
};

namespace {

/// One delegated step's view of the delegate's session: it waits for its turn, connects if no
/// step did yet, and runs there. Transfers are refused by the loader (`run` steps only).
class DelegatedConnection final : public Connection {
 public:
  DelegatedConnection(Delegates::Entry& entry, Transport& transport, Semaphore& connecting)
      : entry_(entry), transport_(transport), connecting_(connecting) {}

  asio::awaitable<ExecResult> exec(const ExecRequest& request) override {
    co_await entry_.turn->acquire();
    Permit turn(*entry_.turn);
    // A cancel stops this exec only: the step then stops its remote processes through us.
    if (std::exchange(is_cancelled_, false)) co_return ExecResult{.cancelled = true};
    if (!entry_.connection && entry_.error.empty()) co_await connect();
    if (!entry_.connection)
      co_return ExecResult{
          .error = fmt::format("delegate_to \"{}\": {}", entry_.host->name, entry_.error)};
    active_ = entry_.connection.get();
    ExecResult result = co_await active_->exec(request);
    active_ = nullptr;
    is_cancelled_ = false;
    if (!result.error.empty()) {
      // The session is unusable: the next delegated step connects again.
      co_await entry_.connection->close();
      entry_.connection.reset();
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
    entry->turn.emplace(executor_, 1);
  }
  return std::make_unique<DelegatedConnection>(*entry, transport_, connecting_);
}

asio::awaitable<void> Delegates::close() {
  for (auto& [name, entry] : entries_)
    if (entry->connection) co_await entry->connection->close();
}

}  // namespace deployd::engine
