// SPDX-License-Identifier: MIT
// The reference model of the task graph and scheduler (issue 14: the needs rules R1-R5 of
// docs/plan-format.md "Tasks"): it reads a case's plan JSON itself and judges the events of a
// run against the rules. It shares no code with the loader, the graph or the scheduler, so a
// bug there cannot hide by being copied here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deployd/event.hpp"
#include "model/model_case.hpp"

namespace deployd::model {

/// What one run of a case did, as deployd reported it.
struct Observation {
  std::vector<std::string> load_errors;  ///< the plan itself was refused (a generator bug)
  std::vector<std::string> refusal;      ///< refused before anything connected (--limit, R3)
  std::vector<Event> events;             ///< every event of the run, in order
  bool ended = false;                    ///< run() completed
  std::string hang;                      ///< why the run was given up, when it did not end
  std::string dry_run;                   ///< what --dry-run prints for the same command line
  std::string graph;                     ///< what --graph prints for it
  /// Case::retry: the --retry-failed run that followed, if the run had hosts to retry.
  std::shared_ptr<Observation> retry;
};

/// The rules that are judged beyond R1, R2 and R4, which always are: each can be turned off
/// while the engine does not implement it yet.
struct Checks {
  bool skip_reasons = true;   ///< R2: a need-skipped step names the need that failed
  bool wave_order = true;     ///< later waves wait, except jobs an earlier wave needs (R1)
  bool named_order = true;    ///< R5: named tasks run in command-line order on each host
  bool host_order = true;     ///< docs/needs-rules.md D8: each host's whole task order
  bool refusals = true;       ///< R3: a needed task left without a host is refused, nothing else
  bool dry_run_waits = true;  ///< --dry-run shows the waits on other hosts (D9)
  bool graph_edges = true;    ///< --graph labels each need by how it is waited for (D9)
  bool changed = true;        ///< step_end.changed exactly for a run/local step ok, a put that wrote
  bool serial_window = true;  ///< policy.serial: never more hosts inside; policy.batches order (D12)
};

/// Every way the observed run departs from the rules, one line each ("R1: ..."); empty when
/// it agrees. The first word names the rule, so that a shrunk case keeps the same failure.
std::vector<std::string> check(const Case& c, const Observation& seen, const Checks& checks);

}  // namespace deployd::model
