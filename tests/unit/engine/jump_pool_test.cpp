// SPDX-License-Identifier: MIT
// Tests src/engine/jump_pool.hpp: jump host sessions shared by route, counted, closed at the end.
#include "engine/jump_pool.hpp"

#include <doctest/doctest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "async/awaitable.hpp"

namespace {

namespace asio = boost::asio;
using deployd::engine::JumpHop;

/// Stands in for ssh::Jump: records its close, and can be marked dead.
struct FakeJump {
  std::string label;
  std::vector<std::string>* log;
  std::string dead;
  FakeJump* via = nullptr;
  const std::string& broken() const { return dead; }
  asio::awaitable<void> close() {
    log->push_back("close " + label);
    co_return;
  }
};

using Pool = deployd::engine::JumpPool<FakeJump>;

/// A pool whose opener takes one loop turn (so concurrent acquirers overlap) and fails the
/// hops listed in `failing`.
struct Fixture {
  asio::io_context context{1};
  std::vector<std::string> log;
  std::vector<std::string> failing;
  int handshakes_per_jump = 64;
  Pool pool{[this](const JumpHop& hop, FakeJump* via) { return open(hop, via); },
            handshakes_per_jump};

  asio::awaitable<Pool::Opened> open(const JumpHop& hop, FakeJump* via) {
    log.push_back("open " + hop.label);
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    for (const auto& name : failing) {
      if (name == hop.label) co_return Pool::Opened{nullptr, "connection refused"};
    }
    co_return Pool::Opened{std::make_unique<FakeJump>(FakeJump{hop.label, &log, "", via}), ""};
  }

  /// Runs `body` to its end on the loop.
  template <class Body>
  void run(Body body) {
    asio::co_spawn(context, body(), [](std::exception_ptr error) {
      if (error) std::rethrow_exception(error);
    });
    context.run();
    context.restart();
  }
};

/// Runs what is ready without waiting for the coroutines that sleep (run() would wait forever).
void settle(asio::io_context& context) {
  while (context.poll() > 0) {
  }
  context.restart();
}

std::vector<JumpHop> route(std::vector<std::string> labels) {
  std::vector<JumpHop> hops;
  std::string key;
  for (auto& label : labels) {
    key += (key.empty() ? "" : " > ") + label;
    hops.push_back(JumpHop{label, key, {}});
  }
  return hops;
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("hosts behind one jump host share one session, closed after the last of them") {
    Fixture f;
    const auto b1 = route({"b1"});
    const auto b0_b1 = route({"b0", "b1"});
    std::vector<Pool::Lease> leases(3);
    for (auto& lease : leases) {
      asio::co_spawn(
          f.context,
          [&]() -> asio::awaitable<void> { lease = (co_await f.pool.acquire(b1)).lease; },
          asio::detached);
    }
    f.context.run();
    f.context.restart();
    CHECK(f.log == std::vector<std::string>{"open b1"});
    REQUIRE(leases[0]);
    CHECK(leases[1] == leases[0]);
    CHECK(leases[2] == leases[0]);
    CHECK(f.pool.open_count() == 1);
    f.run([&]() -> asio::awaitable<void> {
      co_await f.pool.release(std::move(leases[0]));
      co_await f.pool.release(std::move(leases[1]));
    });
    CHECK(f.log == std::vector<std::string>{"open b1"});  // one host still uses it
    f.run([&]() -> asio::awaitable<void> { co_await f.pool.release(std::move(leases[2])); });
    CHECK(f.log == std::vector<std::string>{"open b1", "close b1"});
    CHECK(f.pool.open_count() == 0);
  }

  TEST_CASE("a hop that fails fails every host behind it, naming the hop, and is tried once") {
    Fixture f;
    const auto b1 = route({"b1"});
    const auto b0_b1 = route({"b0", "b1"});
    f.failing = {"b1"};
    std::vector<std::string> errors(2);
    for (auto& error : errors) {
      asio::co_spawn(
          f.context,
          [&]() -> asio::awaitable<void> {
            Pool::Acquired acquired = co_await f.pool.acquire(b1);
            CHECK_FALSE(acquired.lease);
            error = acquired.error;
          },
          asio::detached);
    }
    f.context.run();
    f.context.restart();
    CHECK(errors[0] == "jump host \"b1\": connection refused");
    CHECK(errors[1] == errors[0]);
    f.run([&]() -> asio::awaitable<void> {
      CHECK((co_await f.pool.acquire(b1)).error == errors[0]);
    });
    CHECK(f.log == std::vector<std::string>{"open b1"});
  }

  TEST_CASE("the second hop is opened through the first, and closed before it") {
    Fixture f;
    const auto b1 = route({"b1"});
    const auto b0_b1 = route({"b0", "b1"});
    f.run([&]() -> asio::awaitable<void> {
      Pool::Acquired acquired = co_await f.pool.acquire(b0_b1);
      REQUIRE(acquired.lease);
      CHECK(acquired.lease->jump->via == acquired.lease->parent->jump.get());
      CHECK(f.pool.open_count() == 2);
      co_await f.pool.release(std::move(acquired.lease));
    });
    CHECK(f.log == std::vector<std::string>{"open b0", "open b1", "close b1", "close b0"});
  }

  TEST_CASE("when the first hop fails, the second is not dialled and the error names the first") {
    Fixture f;
    const auto b1 = route({"b1"});
    const auto b0_b1 = route({"b0", "b1"});
    f.failing = {"b0"};
    f.run([&]() -> asio::awaitable<void> {
      Pool::Acquired acquired = co_await f.pool.acquire(b0_b1);
      CHECK(acquired.error == "jump host \"b0\": connection refused");
    });
    CHECK(f.log == std::vector<std::string>{"open b0"});
  }

  TEST_CASE("a jump host that died names itself in its hosts' errors and is not dialled again") {
    Fixture f;
    const auto b1 = route({"b1"});
    const auto b0_b1 = route({"b0", "b1"});
    f.run([&]() -> asio::awaitable<void> {
      Pool::Lease lease = (co_await f.pool.acquire(b0_b1)).lease;
      REQUIRE(lease);
      lease->parent->jump->dead = "receive failed";
      lease->jump->dead = "connection closed by the server";
      CHECK(Pool::broken(lease) == "jump host \"b0\" lost: receive failed");  // the root cause
      Pool::Acquired again = co_await f.pool.acquire(b0_b1);
      CHECK(again.error == "jump host \"b0\" lost: receive failed");
      co_await f.pool.release(std::move(lease));
      again = co_await f.pool.acquire(b0_b1);
      CHECK(again.error == "jump host \"b0\" lost: receive failed");
    });
    CHECK(f.log == std::vector<std::string>{"open b0", "open b1", "close b1", "close b0"});
  }

  TEST_CASE("each jump host has its own limit of handshakes in flight") {
    Fixture f;
    const auto b0 = route({"b0"});
    const auto b1 = route({"b1"});
    Pool pool{[&f](const JumpHop& hop, FakeJump* via) { return f.open(hop, via); }, 2};
    Pool::Lease first, second;
    int admitted = 0;
    f.run([&]() -> asio::awaitable<void> {
      first = (co_await pool.acquire(b0)).lease;
      second = (co_await pool.acquire(b1)).lease;
    });
    REQUIRE(first);
    REQUIRE(second);
    for (int i = 0; i < 3; ++i) {
      for (auto* lease : {&first, &second}) {
        asio::co_spawn(
            f.context,
            [&admitted, lease]() -> asio::awaitable<void> {
              co_await (*lease)->handshakes->acquire();
              ++admitted;
            },
            asio::detached);
      }
    }
    settle(f.context);
    CHECK(admitted == 4);  // two per jump host; the third of each waits
    first->handshakes->release();
    settle(f.context);
    CHECK(admitted == 5);
    second->handshakes->release();
    settle(f.context);
    CHECK(admitted == 6);
    f.run([&]() -> asio::awaitable<void> {
      co_await pool.release(std::move(first));
      co_await pool.release(std::move(second));
    });
  }
}
