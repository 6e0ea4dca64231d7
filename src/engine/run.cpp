// SPDX-License-Identifier: MIT
#include "engine/run.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <exception>
#include <optional>
#include <utility>

#include "async/awaitable.hpp"

namespace deployd::engine {
namespace {

namespace asio = boost::asio;

// An io_context whose pending handlers (coroutine frames among them) can be destroyed before
// the objects they use: Asio keeps shutdown() protected and runs it only in the destructor.
class RunContext : public asio::io_context {
 public:
  RunContext() : asio::io_context(1) {}
  using asio::io_context::shutdown;
};

// Members are destroyed in reverse order after the destructor's body: the pending frames
// first (shutdown), then the signals and the timer, then the engine, then the context.
struct RunScope {
  RunContext context;
  std::optional<Engine> engine;
  std::optional<asio::signal_set> signals;
  std::optional<asio::steady_timer> ticks;
  RunScope() = default;
  RunScope(const RunScope&) = delete;
  RunScope& operator=(const RunScope&) = delete;
  ~RunScope() { context.shutdown(); }
};

void wait_for_signals(RunScope& scope, const RunHooks& hooks, int& count) {
  scope.signals->async_wait([&scope, &hooks, &count](boost::system::error_code ec, int signal) {
    if (ec) return;
    ++count;
    if (hooks.on_signal)
      hooks.on_signal(*scope.engine, signal, count);
    else
      scope.engine->interrupt(signal, count);
    wait_for_signals(scope, hooks, count);
  });
}

asio::awaitable<void> tick(RunScope& scope, const RunHooks& hooks, const bool& is_over) {
  while (!is_over) {
    scope.ticks->expires_after(hooks.tick);
    boost::system::error_code ignored;
    co_await scope.ticks->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (is_over) break;
    hooks.on_tick(*scope.engine);
  }
}

}  // namespace

RunEnd run(const Plan& plan, RunSetup setup, Transport& transport, Reporter& reporter,
           const RunHooks& hooks) {
  RunScope scope;
  Engine& engine = scope.engine.emplace(plan, std::move(setup), transport, reporter);
  int signal_count = 0;
  if (!hooks.signals.empty()) {
    scope.signals.emplace(scope.context);
    for (int signal : hooks.signals) scope.signals->add(signal);
    wait_for_signals(scope, hooks, signal_count);
  }
  bool is_over = false;
  if (hooks.tick.count() > 0 && hooks.on_tick) {
    scope.ticks.emplace(scope.context);
    asio::co_spawn(scope.context, tick(scope, hooks, is_over), asio::detached);
  }
  if (hooks.on_start) hooks.on_start(engine, scope.context);
  std::exception_ptr failure;
  RunEnd end;
  asio::co_spawn(scope.context, engine.run(), [&](std::exception_ptr error, RunEnd result) {
    is_over = true;
    boost::system::error_code ignored;
    if (scope.signals) scope.signals->cancel(ignored);
    if (scope.ticks) scope.ticks->cancel();
    failure = error;
    end = std::move(result);
  });
  // After co_spawn, so a stop requested already reaches a started engine. Destroyed before
  // `scope` (declared after it): a request from another thread either posts
  // before this ends or waits for it. A post that comes after the run is dropped with the context.
  std::stop_callback on_stop(hooks.stop, [&scope, &is_over] {
    asio::post(scope.context, [&scope, &is_over] {
      if (!is_over) scope.engine->interrupt(SIGTERM, 1);
    });
  });
  scope.context.run();
  if (failure) std::rethrow_exception(failure);
  return end;
}

}  // namespace deployd::engine
