// SPDX-License-Identifier: MIT
// Tests of src/report/secret_mask.cpp: known secret values never reach the next reporter.
#include "report/secret_mask.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "report/json_reporter.hpp"

namespace deployd::report {
namespace {

// Keeps each event as its JSON line.
class JsonLines final : public Reporter {
 public:
  void on(const Event& event) override { lines.push_back(event_to_json(event)); }
  void finish() override { finished = true; }
  std::vector<std::string> lines;
  bool finished = false;
};

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

}  // namespace deployd::report
