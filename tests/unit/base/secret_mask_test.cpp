// SPDX-License-Identifier: MIT
// Tests of src/base/secret_mask.cpp: known secret values never reach the next reporter.
#include "base/secret_mask.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "report/json_reporter.hpp"

namespace deployd::base {
namespace {

// Keeps each event as its JSON line.
class JsonLines final : public Reporter {
 public:
  void on(const Event& event) override { lines.push_back(report::event_to_json(event)); }
  void finish() override { finished = true; }
  std::vector<std::string> lines;
  bool finished = false;
};

// A JSON line without its `"time":"...",` member, which changes with the clock.
std::string without_time(std::string line) {
  const std::size_t at = line.find(R"("time":")");
  if (at == std::string::npos) return line;
  const std::size_t end = line.find("\",", at + 8);
  return line.erase(at, end + 2 - at);
}

template <typename Body>
Event at(Body body) {
  return Event{Clock::now(), std::move(body)};
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("a secret mask replaces every occurrence of a value, longest values first") {
    JsonLines next;
    SecretMask mask(next);
    mask.add("hunter2");
    mask.add("hunter2-long");
    CHECK(mask.mask("a hunter2 b hunter2-long c hunter2") == "a *** b *** c ***");
    CHECK(mask.mask("nothing here") == "nothing here");
  }

  TEST_CASE("a secret mask ignores values too short to mask and masks each line of a value") {
    JsonLines next;
    SecretMask mask(next);
    mask.add("");
    mask.add("ok");
    mask.add("first-line\r\nsecond-line\nx");
    CHECK(mask.mask("ok x") == "ok x");
    CHECK(mask.mask("[first-line] [second-line]") == "[***] [***]");
  }

  TEST_CASE("a secret mask hides overlapping and adjacent values as one run") {
    JsonLines next;
    SecretMask mask(next);
    mask.add("abcdef");
    mask.add("defghi");
    mask.add("XYZW");
    CHECK(mask.mask("[abcdefghi] [abcdefXYZW] [XYZ]") == "[***] [***] [XYZ]");
  }

  TEST_CASE("a multi-line value is masked whole and line by line") {
    JsonLines next;
    SecretMask mask(next);
    mask.add("line-one\nline-two");
    mask.add("key-part\nok");
    CHECK(mask.mask("line-one\nline-two / line-two / key-part\nok / ok") == "*** / *** / *** / ok");
  }

  TEST_CASE("a host's short secret is masked on that host only, a long one on every host") {
    // Issue 16: one host's secret "true" must not blank "true" in every other host's output.
    JsonLines next;
    SecretMask mask(next);
    mask.add("true\nAKIA0123456789ABCDEF", "web1");
    mask.add("pass", "");  // a value of the whole run (password_env, a run_once task's)
    mask.on(
        at(Output{"web1", "t", 0, OutputStream::Stdout, "true AKIA0123456789ABCDEF pass", false}));
    mask.on(
        at(Output{"web2", "t", 0, OutputStream::Stdout, "true AKIA0123456789ABCDEF pass", false}));
    mask.on(at(StepStart{"web2", "t", 1, "is true"}));
    mask.on(at(HostEnd{"web1", HostStatus::Failed, "web1: true"}));
    mask.on(at(RunEnd{RunStatus::Failed, 1, {1, 1, 0, 0, 0}, 5}));
    REQUIRE(next.lines.size() == 5);
    CHECK(
        without_time(next.lines[0]) ==
        R"({"event":"output","host":"web1","task":"t","step":0,"stream":"stdout","line":"*** *** ***"})");
    CHECK(
        without_time(next.lines[1]) ==
        R"({"event":"output","host":"web2","task":"t","step":0,"stream":"stdout","line":"true *** ***"})");
    CHECK(without_time(next.lines[2]) ==
          R"({"event":"step_start","host":"web2","task":"t","step":1,"name":"is true"})");
    CHECK(without_time(next.lines[3]) ==
          R"({"event":"host_end","host":"web1","status":"failed","error":"web1: ***"})");
  }

  TEST_CASE("a secret of 160,000 lines masks in work linear in the secret and the text") {
    // Issue 16: masking searched each line of the text once per line of the secret (47 s).
    JsonLines next;
    SecretMask mask(next);
    std::string secret;
    for (int i = 0; i < 160'000; ++i) secret += "k" + std::to_string(1'000'000 + i) + "\n";
    mask.add(secret, "web1");
    const std::uint64_t built = mask.steps();
    CHECK(built <= 3 * secret.size());
    std::string line;
    for (int i = 0; i < 10'000; ++i) line += "common words ";
    line += "k1000042";
    const std::string masked = mask.mask(line, "web1");
    CHECK(masked == line.substr(0, line.size() - 8) + "***");
    CHECK(mask.steps() - built <= 2 * line.size());
  }

  TEST_CASE("a huge secret is built a slice per turn of the loop, its events held meanwhile") {
    // Issue 16: a 16 MiB secret built its automaton in one go and Ctrl-C went unanswered.
    JsonLines next;
    SecretMask mask(next);
    std::deque<std::function<void()>> loop;  // what asio::post queues, run one per turn
    mask.build_later([&](std::function<void()> handler) { loop.push_back(std::move(handler)); });
    std::string secret;
    for (int i = 0; i < 160'000; ++i) secret += "k" + std::to_string(1'000'000 + i) + "\n";
    mask.add(secret, "web1");
    // One slice ran in add(); the rest waits for the loop. A slice may finish the trie node
    // it is at: at most one node's children (256) transitions of their own over its budget.
    CHECK(mask.steps() <= SecretMask::kSliceSteps + 256 * 8);
    REQUIRE(mask.is_building());
    mask.on(at(Output{"web1", "t", 0, OutputStream::Stdout, "k1000042 is the key", false}));
    mask.on(at(Output{"web2", "t", 0, OutputStream::Stdout, "k1000043 is mine", false}));
    CHECK(next.lines.empty());  // nothing passes before it can be masked
    // A signal arrives: its handler is queued behind the first slice and runs long before the
    // build ends, since each turn does one bounded slice.
    bool is_answered_while_building = false;
    loop.push_back([&] { is_answered_while_building = mask.is_building(); });
    int turns = 0;
    while (!loop.empty()) {
      auto handler = std::move(loop.front());
      loop.pop_front();
      const std::uint64_t before = mask.steps();
      handler();
      CHECK(mask.steps() - before <= SecretMask::kSliceSteps + 256 * 8);
      ++turns;
    }
    CHECK(is_answered_while_building);
    CHECK(turns > 10);  // the build took many turns: at least as many as its work over a slice
    CHECK_FALSE(mask.is_building());
    REQUIRE(next.lines.size() == 2);
    CHECK(
        without_time(next.lines[0]) ==
        R"({"event":"output","host":"web1","task":"t","step":0,"stream":"stdout","line":"*** is the key"})");
    CHECK(
        without_time(next.lines[1]) ==
        R"({"event":"output","host":"web2","task":"t","step":0,"stream":"stdout","line":"k1000043 is mine"})");
    // After the build, events pass at once.
    mask.on(at(Output{"web1", "t", 1, OutputStream::Stdout, "k1159999", false}));
    REQUIRE(next.lines.size() == 3);
    CHECK(next.lines[2].find(R"("line":"***")") != std::string::npos);
  }

  TEST_CASE("finishing a secret mask mid-build builds the rest and passes on the held events") {
    JsonLines next;
    SecretMask mask(next);
    std::deque<std::function<void()>> loop;
    mask.build_later([&](std::function<void()> handler) { loop.push_back(std::move(handler)); });
    std::string secret;
    for (int i = 0; i < 20'000; ++i) secret += "k" + std::to_string(1'000'000 + i) + "\n";
    mask.add(secret, "web1");
    REQUIRE(mask.is_building());
    mask.on(at(Output{"web1", "t", 0, OutputStream::Stdout, "k1000042", false}));
    mask.finish();  // the run ends at once: the loop will not turn again
    CHECK(next.finished);
    REQUIRE(next.lines.size() == 1);
    CHECK(next.lines[0].find(R"("line":"***")") != std::string::npos);
    loop.front()();  // a slice posted before is harmless
    CHECK(next.lines.size() == 1);
  }

  TEST_CASE("a secret mask masks output lines, step names and errors, and forwards finish") {
    JsonLines next;
    SecretMask mask(next);
    mask.on(at(Output{"a", "t", 0, OutputStream::Stdout, "before s3cr3t", false}));
    mask.add("s3cr3t");
    mask.on(at(StepStart{"a", "t", 1, "use s3cr3t"}));
    mask.on(at(Output{"a", "t", 1, OutputStream::Stderr, "said s3cr3t", false}));
    StepEnd end{"a", "t", 1, StepStatus::Failed, 1, "", 5, "t step 2: s3cr3t failed"};
    mask.on(at(end));
    mask.on(at(HostEnd{"a", HostStatus::Failed, "host a: s3cr3t"}));
    mask.finish();
    REQUIRE(next.lines.size() == 5);
    CHECK(next.lines[0].find("before s3cr3t") != std::string::npos);  // before it was known
    for (std::size_t i = 1; i < next.lines.size(); ++i) {
      CHECK(next.lines[i].find("s3cr3t") == std::string::npos);
      CHECK(next.lines[i].find("***") != std::string::npos);
    }
    CHECK(next.finished);
  }
}

}  // namespace deployd::base
