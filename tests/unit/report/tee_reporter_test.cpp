// SPDX-License-Identifier: MIT
// Tests of src/report/tee_reporter.cpp: every event reaches every reporter, in order.
#include "report/tee_reporter.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "report/json_reporter.hpp"
#include "support.hpp"

namespace deployd::report {

using test::at;

namespace {

// Records what it receives, as "name:event" entries in a shared journal.
class Recorder final : public Reporter {
 public:
  Recorder(std::string name, std::vector<std::string>& journal)
      : name_(std::move(name)), journal_(journal) {}
  void on(const Event& event) override {
    const std::string json = event_to_json(event);  // {"event":"NAME",...
    journal_.push_back(name_ + ":" + json.substr(10, json.find('"', 10) - 10));
  }
  void finish() override { journal_.push_back(name_ + ":finish"); }

 private:
  std::string name_;
  std::vector<std::string>& journal_;
};

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("a tee forwards every event and finish to each reporter in order") {
    std::vector<std::string> journal;
    Recorder first("1", journal);
    Recorder second("2", journal);
    TeeReporter tee({&first});
    tee.add(second);
    tee.on(at(0, RunStart{}));
    tee.on(at(0, HostEnd{}));
    tee.finish();
    CHECK(journal == std::vector<std::string>{"1:run_start", "2:run_start", "1:host_end",
                                              "2:host_end", "1:finish", "2:finish"});
  }

  TEST_CASE("a tee of no reporters accepts events") {
    TeeReporter tee;
    tee.on(at(0, RunEnd{}));
    tee.finish();
  }
}

}  // namespace deployd::report
