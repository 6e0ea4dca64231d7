// SPDX-License-Identifier: MIT
// The SSH Transport against a real sshd fleet (scripts/fleet, DEPLOYD_FLEET_DIR).
#define DOCTEST_CONFIG_IMPLEMENT

#include "engine/ssh_transport.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "async/awaitable.hpp"
#include "ssh/init.hpp"
#include "support/temp_folder.hpp"

namespace {

using boost::asio::awaitable;
using boost::asio::ip::tcp;
using deployd::Host;
using deployd::HostKeyCheck;
using deployd::OutputStream;
using deployd::base::ExecResult;
using deployd::engine::ConnectFailure;
using deployd::engine::ConnectResult;
using deployd::engine::ExecRequest;
using deployd::engine::Transport;
using deployd::testing::TempFolder;
namespace fs = std::filesystem;

/// The fleet scripts/fleet started: its hosts with the inventory's defaults applied.
struct Fleet {
  fs::path dir;
  std::vector<Host> hosts;
};

const Fleet& fleet() {
  static const Fleet loaded = [] {
    Fleet result{std::getenv("DEPLOYD_FLEET_DIR"), {}};
    std::ifstream in(result.dir / "inventory.json");
    const auto inventory = nlohmann::json::parse(in);
    const auto& defaults = inventory.at("defaults");
    for (const auto& entry : inventory.at("hosts")) {
      Host host;
      host.name = entry.at("name");
      host.address = entry.value("address", host.name);
      host.port = entry.value("port", 22);
      host.user = defaults.value("user", "deployd");
      host.identities = {defaults.value("identity", (result.dir / "client_key").string())};
      host.known_hosts = defaults.value("known_hosts", (result.dir / "known_hosts").string());
      host.connect_timeout = std::chrono::seconds(10);
      result.hosts.push_back(std::move(host));
    }
    return result;
  }();
  return loaded;
}

/// Runs `body` on a fresh one-thread io_context and returns what it returns.
template <class T>
T run_io(std::function<awaitable<T>()> body) {
  boost::asio::io_context io{1};
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      io, [&]() -> awaitable<void> { result = co_await body(); },
      [&](std::exception_ptr error) { failure = error; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

/// What one command produced: its outputs joined per stream, and how it ended.
struct Captured {
  std::string out;
  std::string err;
  ExecResult result;
};

awaitable<Captured> capture(deployd::engine::Connection& connection, std::string command,
                            std::optional<deployd::Duration> timeout = std::nullopt) {
  Captured captured;
  ExecRequest request;
  request.command = std::move(command);
  request.timeout = timeout;
  request.on_output = [&captured](OutputStream stream, std::string_view chunk) {
    (stream == OutputStream::Stdout ? captured.out : captured.err) += chunk;
  };
  captured.result = co_await connection.exec(request);
  co_return captured;
}

/// Connects to `host`, runs each command in turn on the one connection, closes.
std::vector<Captured> run_commands(const Host& host, std::vector<std::string> commands) {
  return run_io<std::vector<Captured>>([&]() -> awaitable<std::vector<Captured>> {
    auto transport = deployd::engine::make_ssh_transport();
    ConnectResult connected = co_await transport->connect(host);
    REQUIRE_MESSAGE(connected.connection, connected.error);
    std::vector<Captured> results;
    for (const std::string& command : commands) {
      results.push_back(co_await capture(*connected.connection, command));
    }
    co_await connected.connection->close();
    co_return results;
  });
}

/// Only tries to connect; closes a connection that opened.
ConnectResult try_connect(const Host& host) {
  return run_io<ConnectResult>([&]() -> awaitable<ConnectResult> {
    auto transport = deployd::engine::make_ssh_transport();
    ConnectResult connected = co_await transport->connect(host);
    if (connected.connection) co_await connected.connection->close();
    transport->finish();  // as main does at the end of a run: accept-new keys are written
    co_return connected;
  });
}

/// A new ed25519 key pair made by OpenSSH's ssh-keygen; returns the private key's path.
fs::path make_key(const fs::path& dir, const std::string& name) {
  const fs::path key = dir / name;
  const std::string command = "ssh-keygen -q -t ed25519 -N '' -C deployd-test -f '" + key.string() +
                              "' </dev/null >/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  return key;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The fingerprint OpenSSH's ssh-keygen -l prints for a public key file (SHA256:...).
std::string fingerprint_of(const fs::path& public_key) {
  const std::string command = "ssh-keygen -l -f '" + public_key.string() + "'";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char line[512] = {};
  const bool read = std::fgets(line, sizeof line, pipe) != nullptr;
  REQUIRE(pclose(pipe) == 0);
  REQUIRE(read);
  std::istringstream words(line);
  std::string bits, fingerprint;
  words >> bits >> fingerprint;
  return fingerprint;
}

std::string first_word_after(const std::string& text, std::size_t words) {
  std::istringstream in(text);
  std::string word;
  for (std::size_t i = 0; i <= words; ++i) in >> word;
  return word;
}

/// This process's user + system CPU time so far.
long cpu_microseconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1'000'000L + usage.ru_utime.tv_usec +
         usage.ru_stime.tv_usec;
}

/// Connects to the first `count` hosts at once (one coroutine each, one thread), runs `echo ok`
/// on each and closes; returns each host's stdout, or its connect error.
std::vector<std::string> echo_ok_concurrently(std::size_t count) {
  return run_io<std::vector<std::string>>([&]() -> awaitable<std::vector<std::string>> {
    auto transport = deployd::engine::make_ssh_transport();
    std::vector<std::string> outputs(count);
    std::size_t running = count;
    const auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer all_done(executor, boost::asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < count; ++i) {
      auto one_host = [&, i]() -> awaitable<void> {
        ConnectResult connected = co_await transport->connect(fleet().hosts[i]);
        if (!connected.connection) {
          outputs[i] = connected.error;
          co_return;
        }
        outputs[i] = (co_await capture(*connected.connection, "echo ok")).out;
        co_await connected.connection->close();
      };
      boost::asio::co_spawn(executor, one_host, [&](std::exception_ptr) {
        if (--running == 0) all_done.cancel();
      });
    }
    boost::system::error_code ec;
    co_await all_done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return outputs;
  });
}

}  // namespace

TEST_SUITE("integration-ssh") {
  TEST_CASE("stdout and stderr arrive separately, each exactly") {
    const auto results = run_commands(fleet().hosts.at(0), {"echo out; echo err >&2"});
    CHECK(results[0].out == "out\n");
    CHECK(results[0].err == "err\n");
    CHECK(results[0].result.exit_status == 0);
    CHECK(results[0].result.exit_signal.empty());
    CHECK(results[0].result.error.empty());
  }

  TEST_CASE("a non-zero exit status and a killing signal are reported") {
    const auto results = run_commands(fleet().hosts.at(0), {"exit 3", "kill -KILL $$"});
    CHECK(results[0].result.exit_status == 3);
    CHECK(results[0].result.exit_signal.empty());
    CHECK_FALSE(results[1].result.exit_status.has_value());
    CHECK(results[1].result.exit_signal == "KILL");
    CHECK(results[1].result.error.empty());
  }

  TEST_CASE("three steps run over one connection") {
    const auto results =
        run_commands(fleet().hosts.at(0), {"echo $SSH_CONNECTION", "true", "echo $SSH_CONNECTION"});
    REQUIRE(results.size() == 3);
    CHECK(results[1].result.exit_status == 0);
    CHECK(!results[0].out.empty());
    CHECK(results[0].out == results[2].out);  // same client port: the same TCP connection
  }

  TEST_CASE("megabytes on stdout and stderr at once do not stall each other") {
    const auto results = run_commands(
        fleet().hosts.at(0),
        {"head -c 5000000 /dev/zero >&2 & head -c 5000000 /dev/zero; wait; echo end >&2"});
    CHECK(results[0].out.size() == 5'000'000);
    CHECK(results[0].err.size() == 5'000'004);
    CHECK(results[0].result.exit_status == 0);
  }

  TEST_CASE("one host: connect, exec and close take a few tens of milliseconds") {
    const auto start = std::chrono::steady_clock::now();
    const auto results = run_commands(fleet().hosts.at(2), {"true"});
    const auto first = std::chrono::steady_clock::now();
    run_commands(fleet().hosts.at(2), {"true", "true", "true", "true", "true"});
    const auto second = std::chrono::steady_clock::now();
    CHECK(results[0].result.exit_status == 0);
    const auto ms = [](auto duration) {
      return std::chrono::duration_cast<std::chrono::microseconds>(duration).count() / 1000.0;
    };
    MESSAGE("1 host, connect + 1 exec + close: ", ms(first - start),
            " ms; with 5 execs: ", ms(second - first), " ms");
  }

  TEST_CASE("50 hosts connect and run a command concurrently on one thread") {
    const std::size_t count = std::min<std::size_t>(50, fleet().hosts.size());
    if (count < 50) MESSAGE("the fleet has only ", count, " hosts");
    const long cpu_before = cpu_microseconds();
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::string> outputs = echo_ok_concurrently(count);
    const auto wall = std::chrono::steady_clock::now() - start;
    const long cpu = cpu_microseconds() - cpu_before;
    for (std::size_t i = 0; i < count; ++i) {
      CHECK_MESSAGE(outputs[i] == "ok\n", fleet().hosts[i].name);
    }
    MESSAGE(count, " hosts: wall ",
            std::chrono::duration_cast<std::chrono::milliseconds>(wall).count(), " ms, client CPU ",
            cpu / static_cast<long>(count), " us/host");
  }

  TEST_CASE("a refused connection is unreachable") {
    Host host = fleet().hosts.at(0);
    host.name = "nowhere";
    host.address = "127.0.10.250";
    host.port = 2;
    const ConnectResult result = try_connect(host);
    CHECK(result.failure == ConnectFailure::Unreachable);
    CHECK(result.error == "connect 127.0.10.250:2: connection refused");
  }

  TEST_CASE("a listener that never speaks SSH times out after connect_timeout") {
    const auto [result, elapsed, port] = run_io<std::tuple<ConnectResult, double, int>>(
        [&]() -> awaitable<std::tuple<ConnectResult, double, int>> {
          auto executor = co_await boost::asio::this_coro::executor;
          tcp::acceptor acceptor(executor, {boost::asio::ip::make_address("127.0.9.7"), 0});
          tcp::socket silent(executor);
          acceptor.async_accept(silent, [](boost::system::error_code) {});  // accept, say nothing
          Host host = fleet().hosts.at(0);
          host.name = "silent";
          host.address = "127.0.9.7";
          host.port = acceptor.local_endpoint().port();
          host.connect_timeout = std::chrono::seconds(1);
          const auto start = std::chrono::steady_clock::now();
          auto transport = deployd::engine::make_ssh_transport();
          ConnectResult connected = co_await transport->connect(host);
          const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
          co_return std::tuple{std::move(connected), elapsed.count(), host.port};
        });
    CHECK(result.failure == ConnectFailure::Unreachable);
    CHECK(result.error ==
          "connect 127.0.9.7:" + std::to_string(port) + ": timed out after 1s (ssh handshake)");
    CHECK(elapsed >= 0.9);
    CHECK(elapsed < 1.0 + 5.0);  // the 1 s timeout, with room for a slow or loaded machine
  }

  TEST_CASE("a host key that differs from known_hosts is refused") {
    TempFolder temp;
    const fs::path other = make_key(temp.path(), "other_host_key");
    Host host = fleet().hosts.at(0);
    host.known_hosts = (temp.path() / "known_hosts").string();
    const std::string key = read_text(other.string() + ".pub");
    std::ofstream(host.known_hosts)
        << "[" << host.address << "]:" << host.port << " " << first_word_after(key, 0) << " "
        << first_word_after(key, 1) << "\n";
    const std::string entry = "[" + host.address + "]:" + std::to_string(host.port);
    const std::string shown = fingerprint_of(fleet().dir / "host_ed25519_key.pub");
    for (HostKeyCheck mode : {HostKeyCheck::Strict, HostKeyCheck::AcceptNew}) {
      host.host_key_check = mode;
      const ConnectResult result = try_connect(host);
      CHECK(result.failure == ConnectFailure::HostKey);
      // What the server showed, and the command that removes the old key (issue 19).
      CHECK(result.error == "host key for \"" + host.name + "\" (" + host.address + ":" +
                                std::to_string(host.port) + ") does not match " + host.known_hosts +
                                ":1 (host_key_check " +
                                (mode == HostKeyCheck::Strict ? "strict" : "accept-new") +
                                "): HOST KEY CHANGED: the server showed ssh-ed25519 " + shown +
                                "; someone may be intercepting the connection, or the host was "
                                "reinstalled (then remove its old key: ssh-keygen -R '" +
                                entry + "' -f " + host.known_hosts + ")");
    }
  }

  TEST_CASE("an unknown host is refused under strict, recorded under accept-new, let in by off") {
    TempFolder temp;
    Host host = fleet().hosts.at(1);
    host.known_hosts = (temp.path() / "known_hosts").string();

    host.host_key_check = HostKeyCheck::Strict;
    ConnectResult result = try_connect(host);
    CHECK(result.failure == ConnectFailure::HostKey);
    CHECK(result.error == "host key for \"" + host.name + "\" is not in " + host.known_hosts +
                              " (host_key_check strict): the file does not exist");

    host.host_key_check = HostKeyCheck::Off;
    result = try_connect(host);
    CHECK_MESSAGE(result.failure == ConnectFailure::None, result.error);
    CHECK_FALSE(fs::exists(host.known_hosts));

    host.host_key_check = HostKeyCheck::AcceptNew;
    result = try_connect(host);
    CHECK_MESSAGE(result.failure == ConnectFailure::None, result.error);
    const std::string recorded = read_text(host.known_hosts);
    const std::string names = "[" + host.name + "]:" + std::to_string(host.port) + ",[" +
                              host.address + "]:" + std::to_string(host.port) + " ssh-ed25519 ";
    CHECK(recorded.rfind(names, 0) == 0);

    host.host_key_check = HostKeyCheck::Strict;  // a new run reads what accept-new wrote
    result = try_connect(host);
    CHECK_MESSAGE(result.failure == ConnectFailure::None, result.error);
  }

  TEST_CASE("a key the server does not authorize fails authentication") {
    TempFolder temp;
    Host host = fleet().hosts.at(0);
    host.identities = {make_key(temp.path(), "id_ed25519").string()};
    const ConnectResult result = try_connect(host);
    CHECK(result.failure == ConnectFailure::Authentication);
    CHECK(result.error == "authentication failed for user \"" + host.user + "\" (tried " +
                              host.identities[0] + ")");
  }

  TEST_CASE("an unset password_env fails before connecting") {
    Host host = fleet().hosts.at(0);
    host.password_env = "DEPLOYD_TEST_SURELY_UNSET_PASSWORD";
    const ConnectResult result = try_connect(host);
    CHECK(result.failure == ConnectFailure::Authentication);
    CHECK(result.error ==
          "environment variable \"DEPLOYD_TEST_SURELY_UNSET_PASSWORD\" (password_env) is not set");
  }

  TEST_CASE("lanes of one connection run commands at once, and one lane's timeout is its own") {
    // issue 18, delegated steps: three 1 s commands on three lanes take about 1 s, not 3; a
    // fourth lane's command is cut off by its timeout; the connection then runs another lane.
    const Host& host = fleet().hosts.at(0);
    struct Outcome {
      std::vector<Captured> runs = std::vector<Captured>(4);
      double seconds = 0;
      Captured after;
    };
    const Outcome outcome = run_io<Outcome>([&]() -> awaitable<Outcome> {
      auto transport = deployd::engine::make_ssh_transport();
      ConnectResult connected = co_await transport->connect(host);
      REQUIRE_MESSAGE(connected.connection, connected.error);
      std::vector<std::unique_ptr<deployd::engine::Connection>> lanes;
      for (int i = 0; i < 4; ++i) lanes.push_back(connected.connection->lane());
      for (const auto& lane : lanes) REQUIRE(lane);
      Outcome result;
      const auto executor = co_await boost::asio::this_coro::executor;
      boost::asio::steady_timer finished(executor, boost::asio::steady_timer::time_point::max());
      int running = 4;
      const auto started = std::chrono::steady_clock::now();
      for (int i = 0; i < 4; ++i) {
        boost::asio::co_spawn(
            executor,
            [&, i]() -> awaitable<void> {
              if (i == 3) {
                result.runs[i] = co_await capture(*lanes[i], "sleep 5", deployd::Duration(500));
              } else {
                result.runs[i] =
                    co_await capture(*lanes[i], "sleep 1; echo lane " + std::to_string(i));
              }
              if (--running == 0) finished.cancel();
            },
            boost::asio::detached);
      }
      boost::system::error_code ec;
      co_await finished.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      result.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      for (auto& lane : lanes) co_await lane->close();
      auto again = connected.connection->lane();
      REQUIRE(again);
      result.after = co_await capture(*again, "echo after");
      co_await again->close();
      co_await connected.connection->close();
      co_return result;
    });
    for (int i = 0; i < 3; ++i) {
      CHECK(outcome.runs[i].out == "lane " + std::to_string(i) + "\n");
      CHECK(outcome.runs[i].result.exit_status == 0);
    }
    CHECK(outcome.runs[3].result.timed_out);
    CHECK(outcome.seconds < 2.5);  // at once: one after the other would be 3 s
    CHECK(outcome.after.out == "after\n");
  }

  TEST_CASE("a command past its timeout is cut off and the connection goes on") {
    const auto results = run_io<std::vector<Captured>>([&]() -> awaitable<std::vector<Captured>> {
      auto transport = deployd::engine::make_ssh_transport();
      ConnectResult connected = co_await transport->connect(fleet().hosts.at(0));
      REQUIRE_MESSAGE(connected.connection, connected.error);
      std::vector<Captured> results;
      results.push_back(co_await capture(*connected.connection, "echo started; sleep 2",
                                         std::chrono::milliseconds(500)));
      results.push_back(co_await capture(*connected.connection, "echo after"));
      co_await connected.connection->close();
      co_return results;
    });
    CHECK(results[0].result.timed_out);
    CHECK(results[0].out == "started\n");
    CHECK_FALSE(results[0].result.exit_status.has_value());
    CHECK(results[1].out == "after\n");
    CHECK(results[1].result.exit_status == 0);
  }

  TEST_CASE("keepalives during a long quiet command do not end it") {
    Host host = fleet().hosts.at(3);
    host.keepalive = std::chrono::seconds(1);  // libssh2 1.10 makes it 2 s
    const auto results =
        run_commands(host, {"sleep 3; echo done", "exec >&- 2>&-; sleep 3; exit 4"});
    CHECK(results[0].out == "done\n");
    CHECK(results[0].result.exit_status == 0);
    CHECK_FALSE(results[1].result.timed_out);  // it closed its output, then ran on past a keepalive
    CHECK(results[1].result.exit_status == 4);
  }

  TEST_CASE("a controller whose own loop is stalled does not take a live host for gone") {
    // The loop is blocked for longer than the dead-peer limit (2 intervals + 1 s) while the host
    // answers keepalives normally: as under ASan, a loaded CI machine, or deployd stopped by
    // SIGSTOP. Only keepalives the host left unanswered may count against it.
    Host host = fleet().hosts.at(4);
    host.keepalive = std::chrono::seconds(2);
    const auto stall = 2 * host.keepalive + std::chrono::seconds(3);
    const auto results = run_io<std::vector<Captured>>([&]() -> awaitable<std::vector<Captured>> {
      auto transport = deployd::engine::make_ssh_transport();
      ConnectResult connected = co_await transport->connect(host);
      REQUIRE_MESSAGE(connected.connection, connected.error);
      const auto executor = co_await boost::asio::this_coro::executor;
      boost::asio::co_spawn(
          executor,
          [&]() -> awaitable<void> {
            // Let a keepalive or two go out first, then starve the loop.
            boost::asio::steady_timer timer(executor, host.keepalive + std::chrono::seconds(1));
            co_await timer.async_wait(boost::asio::use_awaitable);
            std::this_thread::sleep_for(stall);
          },
          boost::asio::detached);
      std::vector<Captured> captured;
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(stall).count() + 4;
      captured.push_back(co_await capture(*connected.connection,
                                          "sleep " + std::to_string(seconds) + "; echo done"));
      co_await connected.connection->close();
      co_return captured;
    });
    CHECK(results[0].result.error == "");
    CHECK(results[0].out == "done\n");
    CHECK(results[0].result.exit_status == 0);
  }

  TEST_CASE("a controller stalled during a transfer does not take a live host for gone") {
    // The transfer's dead-peer rule (two keepalive intervals + 1 s of silence) must not count
    // the time our own loop could not run.
    Host host = fleet().hosts.at(5);
    host.keepalive = std::chrono::seconds(2);
    const auto stall = 2 * host.keepalive + std::chrono::seconds(3);
    TempFolder temp;
    const fs::path source = temp.path() / "big.bin";
    constexpr std::uintmax_t size = 256u << 20;
    std::ofstream(source).close();
    fs::resize_file(source, size);  // sparse: read fast, seconds to send
    const std::string target = "/tmp/deployd-stalled-transfer-" + std::to_string(::getpid());
    const auto result = run_io<deployd::engine::TransferResult>(
        [&]() -> awaitable<deployd::engine::TransferResult> {
          auto transport = deployd::engine::make_ssh_transport();
          ConnectResult connected = co_await transport->connect(host);
          REQUIRE_MESSAGE(connected.connection, connected.error);
          const auto executor = co_await boost::asio::this_coro::executor;
          boost::asio::co_spawn(
              executor,
              [&]() -> awaitable<void> {
                boost::asio::steady_timer timer(executor, std::chrono::milliseconds(200));
                co_await timer.async_wait(boost::asio::use_awaitable);
                std::this_thread::sleep_for(stall);
              },
              boost::asio::detached);
          deployd::engine::PutRequest request;
          request.local_path = source.string();
          request.remote_path = target;
          request.temp_tag = "stall-test";
          auto put = co_await connected.connection->put(request);
          co_await connected.connection->close();
          co_return put;
        });
    std::error_code ignored;
    fs::remove(target, ignored);
    CHECK(result.error == "");
    CHECK(result.bytes == size);
  }

  TEST_CASE("a connection that breaks during a command is an error") {
    // $PPID is the sshd process serving this session: killing it drops the TCP connection.
    const auto results = run_commands(fleet().hosts.at(0), {"kill -KILL $PPID; sleep 1", "true"});
    // sshd dies with our data unread, so the kernel may answer with a reset instead of a FIN.
    CHECK(results[0].result.error.rfind("connection lost during command: ", 0) == 0);
    CHECK(results[1].result.error.rfind("the connection is unusable: ", 0) == 0);
  }
}

int main(int argc, char** argv) {
  if (std::getenv("DEPLOYD_FLEET_DIR") == nullptr) {
    const char* required = std::getenv("DEPLOYD_REQUIRE_FLEET");
    if (required != nullptr && std::string(required) == "1") {
      std::cerr << "integration-ssh: DEPLOYD_REQUIRE_FLEET=1 but DEPLOYD_FLEET_DIR is not set\n";
      return 1;
    }
    std::cerr << "integration-ssh: skipped: DEPLOYD_FLEET_DIR is not set (scripts/fleet start)\n";
    return 77;
  }
  deployd::ssh::init_library();
  doctest::Context context(argc, argv);
  return context.run();
}
