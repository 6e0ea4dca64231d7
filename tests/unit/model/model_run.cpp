// SPDX-License-Identifier: MIT
// A model case through the engine (see model_run.hpp).
#include "model/model_run.hpp"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>

#include "async/awaitable.hpp"
#include "cli/inspect.hpp"
#include "cli/lost_needs.hpp"
#include "deployd/load.hpp"
#include "engine/engine.hpp"
#include "graph/limit.hpp"
#include "graph/task_graph.hpp"
#include "support/fake_transport.hpp"
#include "support/recording_reporter.hpp"

namespace deployd::model {
namespace {

// A run that handles no event for this long waits for something that never comes. Only a
// hung run waits it out: fake commands end at once, local ones (`true`) within milliseconds
// even on a loaded machine.
constexpr auto kQuiet = std::chrono::seconds(10);
// Far more handlers than any generated case needs (a few thousand): a run past it loops.
constexpr long kMostHandlers = 2'000'000;

std::vector<std::string> texts(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) out.push_back(d.to_string());
  return out;
}

/// Everything a run touches, kept together so that a hung run can be abandoned whole.
struct Run {
  testing::FakeTransport transport;
  testing::RecordingReporter reporter;
  boost::asio::io_context context{1};  // before the engine: it must outlive the engine's timers
  std::unique_ptr<engine::Engine> engine;
  bool done = false;
  std::string error;
};

/// One run of the plan: as the first run of `c`, or with `retry_hosts` as its --retry-failed.
Observation observe_run(const Case& c, const std::vector<std::string>* retry_hosts) {
  Observation seen;
  const std::vector<std::string>& fails = retry_hosts ? c.retry_fail : c.fail;
  const std::vector<std::string>& unreachable = retry_hosts ? c.retry_unreachable : c.unreachable;
  // Injected failures of local steps are in the plan itself: their command exits 1.
  Json plan = c.plan;
  for (const std::string& text : fails) {
    FailPoint point = parse_fail(text);
    if (point.host == "local" && plan["tasks"].contains(point.task))
      plan["tasks"][point.task]["steps"][static_cast<std::size_t>(point.step)]["local"] = "exit 1";
  }
  LoadOptions options;
  options.controller_user = "tester";
  options.home = "/home/tester";
  LoadResult loaded = parse_plan(plan.dump(), "plan.json", options);
  if (!loaded.plan) {
    seen.load_errors = texts(loaded.errors);
    return seen;
  }
  Plan& loaded_plan = *loaded.plan;
  loaded_plan.directory = std::filesystem::temp_directory_path().string();  // where local steps run
  // As src/cli/main.cpp does: --limit, the selection, the needs --limit lost (R3), then the
  // hosts to retry and the needs they lost (src/cli/retry.cpp, restrict_to_retry).
  const std::vector<std::string>& limit = c.limit;
  const std::vector<std::vector<std::string>> unlimited = graph::task_hosts(loaded_plan);
  if (auto errors = graph::limit_hosts(loaded_plan, limit); !errors.empty()) {
    seen.refusal = texts(errors);
    return seen;
  }
  graph::Selection selection = graph::select_tasks(loaded_plan, c.names);
  if (!selection.errors.empty()) {
    seen.refusal = texts(selection.errors);
    return seen;
  }
  if (!limit.empty())
    if (auto errors = cli::limit_errors(loaded_plan, selection.tasks, unlimited); !errors.empty()) {
      seen.refusal = texts(errors);
      return seen;
    }
  if (!retry_hosts) {
    seen.dry_run = cli::dry_run(loaded_plan, selection.tasks, "model");
    seen.graph = graph::to_dot(loaded_plan, selection.tasks);
  }
  if (retry_hosts) {
    const std::vector<std::vector<std::string>> before = graph::task_hosts(loaded_plan);
    graph::keep_named_hosts(loaded_plan, *retry_hosts);
    cli::run_lost_needs_again(loaded_plan, selection.tasks, before);
    if (engine::run_hosts(loaded_plan, selection.tasks).empty()) {
      seen.refusal = {
          "--retry-failed: none of the failed hosts of run model is targeted by this run"};
      return seen;
    }
  }

  auto run = std::make_unique<Run>();
  for (const std::string& text : fails) {
    FailPoint point = parse_fail(text);
    if (point.host == "local" || !plan["tasks"].contains(point.task)) continue;
    const Json& step = plan["tasks"][point.task]["steps"][static_cast<std::size_t>(point.step)];
    if (step.contains("put")) {  // a put fails every attempt (the generator makes no flaky put)
      run->transport.transfer_result(point.host, step["to"].get<std::string>(),
                                     engine::TransferResult{0, false, "write failed (injected)"});
      continue;
    }
    if (!step.contains("run")) continue;
    testing::FakeReply reply = testing::exits(1);
    if (point.attempts > 0)
      reply = testing::FakeReply{.fails_first = point.attempts};  // then exits 0
    run->transport.reply(point.host, step["run"].get<std::string>(), reply);
  }
  // issue 17: a put that finds the remote file equal writes nothing, and so is not changed.
  for (const std::string& text : c.unchanged) {
    FailPoint point = parse_fail(text);
    if (!plan["tasks"].contains(point.task)) continue;
    const Json& step = plan["tasks"][point.task]["steps"][static_cast<std::size_t>(point.step)];
    if (step.contains("put"))
      run->transport.transfer_result(point.host, step["to"].get<std::string>(),
                                     engine::TransferResult{.unchanged = true});
  }
  for (const std::string& host : unreachable)
    run->transport.refuse(host, "connection refused (injected)");
  run->engine = std::make_unique<engine::Engine>(
      loaded_plan, engine::RunSetup{"model", selection.tasks, 0, c.sessions}, run->transport,
      run->reporter);
  Run* r = run.get();
  boost::asio::co_spawn(r->context, r->engine->run(), [r](std::exception_ptr error, RunEnd) {
    r->done = true;
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      r->error = e.what();
    }
  });
  for (long handlers = 0; !r->done; ++handlers) {
    if (handlers > kMostHandlers) {
      seen.hang =
          "the run handled " + std::to_string(kMostHandlers) + " events without ending (a loop)";
      break;
    }
    if (r->context.run_one_for(kQuiet) == 0) {
      seen.hang = "the run stopped making progress (every host waits; nothing can wake them)";
      break;
    }
  }
  seen.events = r->reporter.events;
  seen.ended = r->done && r->error.empty();
  if (!r->error.empty()) seen.hang = "the run threw: " + r->error;
  // A hung run's coroutines still reference the engine and the context: destroying them
  // would resume nothing but could touch freed state. Abandon them (the test fails anyway).
  if (!r->done) static_cast<void>(run.release());
  return seen;
}

}  // namespace

Observation observe(const Case& c) {
  Observation seen = observe_run(c, nullptr);
  if (!c.retry || !seen.ended) return seen;
  // --retry-failed: the hosts the run did not end ok, as its summary lists them.
  std::vector<std::string> hosts;
  for (const Event& event : seen.events)
    if (auto* end = std::get_if<HostEnd>(&event.body);
        end && end->host != kLocalHost && end->status != HostStatus::Ok)
      hosts.push_back(end->host);
  if (!hosts.empty()) seen.retry = std::make_shared<Observation>(observe_run(c, &hosts));
  return seen;
}

}  // namespace deployd::model
