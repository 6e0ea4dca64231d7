// SPDX-License-Identifier: MIT
// Random model cases from a seed, and shrinking a failing case to a small one that still fails.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "model/model_case.hpp"
#include "model/reference_model.hpp"

namespace deployd::model {

/// What the generator may put in a case, and which extra rules are judged. Each can be turned
/// off (DEPLOYD_MODEL_FEATURES="-waves,-limit") to work on the others.
struct Features {
  bool local = true;  ///< local tasks
  bool run_once = true;
  bool barrier = true;
  bool cross_group = true;  ///< tasks on different groups (else every remote task is on "all")
  bool waves = true;        ///< policy.batches
  bool limit = true;        ///< --limit
  bool named = true;        ///< tasks named on the command line
  bool defaults = true;     ///< `default` tasks
  bool failures = true;     ///< steps that fail
  bool ignore_errors = true;
  bool unreachable = true;  ///< hosts that refuse connections
  bool forks = true;        ///< small policy.forks
  bool sessions = true;     ///< small max_open_sessions (hosts close sessions while waiting)
  bool retry = true;        ///< --retry-failed after the run
  bool budgets = true;      ///< policy.max_failures, on_failure abort
  bool retries = true;      ///< policy.retries, with steps that fail only their first attempts
  bool group_forms = true;  ///< groups of groups, hosts joining groups from their object
  bool handlers = true;     ///< `notify` and `"handler": true` tasks (issue 17, D16-D19)
  bool puts = true;         ///< put steps, some finding the file equal (not changed)
  bool serial = true;       ///< a task's own policy.serial / policy.batches (D12-D14)
  bool when = true;  ///< `when` on steps (constants, success(), failure(), always()) and tasks (issue 17)
  Checks checks;            ///< skip_reasons, wave_order, named_order, refusals
};

/// Applies "-name,+name,..." (names as in Features and Checks; "all" and "none" too) to
/// `features`; returns the names it does not know, comma-separated.
std::string apply_features(std::string_view spec, Features& features);
/// The switches that are on, e.g. "local run_once ... refusals".
std::string describe(const Features& features);

/// The case of `seed`: the same seed always gives the same case.
Case generate(std::uint64_t seed, const Features& features);

/// A smaller case for which `still_fails` holds, found by removing one thing at a time
/// (tasks, hosts, needs, steps, failures, options) as long as the failure stays; at most
/// `budget` tries.
Case shrink(const Case& failing, const std::function<bool(const Case&)>& still_fails,
            int budget = 600);

}  // namespace deployd::model
