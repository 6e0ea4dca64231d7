// SPDX-License-Identifier: MIT
// Tests src/ssh/stall_watch.cpp: a transfer's host is gone only when it is silent, not we.
#include "ssh/stall_watch.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <thread>

using namespace deployd::ssh;
using namespace std::chrono_literals;

namespace {

/// A Link whose socket is one end of a socket pair; the test holds the peer's end.
struct LinkPair {
  boost::asio::io_context io{1};
  Link link{io.get_executor()};
  int peer = -1;
  LinkPair() {
    int ends[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0);
    link.socket.assign(boost::asio::ip::tcp::v4(), ends[0]);
    peer = ends[1];
  }
  LinkPair(const LinkPair&) = delete;
  LinkPair& operator=(const LinkPair&) = delete;
  ~LinkPair() { ::close(peer); }
  void run_for(std::chrono::milliseconds time) {
    io.restart();
    io.run_for(time);
  }
};

}  // namespace

TEST_SUITE("ssh") {
  TEST_CASE("stall watch: a peer silent for the limit is taken for gone, the link shut down") {
    LinkPair pair;
    StallWatch watch(pair.link, 1s);
    pair.run_for(3s);
    CHECK(watch.has_fired());
    CHECK(pair.link.is_aborted);
  }

  TEST_CASE("stall watch: bytes waiting unread are an answer our loop has not read yet") {
    LinkPair pair;
    StallWatch watch(pair.link, 1s);
    REQUIRE(::write(pair.peer, "x", 1) == 1);
    pair.run_for(3s);
    CHECK_FALSE(watch.has_fired());
  }

  TEST_CASE("stall watch: a loop that could not run starts the clock again, then a silent peer is found") {
    LinkPair pair;
    StallWatch watch(pair.link, 1s);
    // The loop is starved past the limit: the watch wakes late, and blames nobody.
    boost::asio::post(pair.io, [] { std::this_thread::sleep_for(2500ms); });
    pair.run_for(2600ms);
    CHECK_FALSE(watch.has_fired());
    // From then on the peer's silence counts again.
    pair.run_for(3s);
    CHECK(watch.has_fired());
  }

  TEST_CASE("stall watch: a zero limit watches nothing") {
    LinkPair pair;
    StallWatch watch(pair.link, 0s);
    pair.run_for(200ms);
    CHECK_FALSE(watch.has_fired());
    CHECK_FALSE(pair.link.is_aborted);
  }
}
