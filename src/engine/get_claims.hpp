// SPDX-License-Identifier: MIT
// Which host writes which local path with `get` (issue 16, item 10): the load-time check cannot
// see paths built from `{{run.id}}` or registered values, so every get claims its path at run
// time, before anything is written.
#pragma once

#include <map>
#include <string>
#include <utility>

namespace deployd::engine {

/// The local paths `get` steps write in this run, each owned by the first host that claimed it
/// within a task. One per run, shared by every host (the engine runs on one thread).
class GetClaims {
 public:
  /// Claims `local_path` (already joined with the plan's folder) for `host` in `task`: "" when
  /// it is that host's (new or claimed before by the same host), else the name of the host
  /// that holds it.
  std::string claim(const std::string& task, const std::string& local_path, const std::string& host);

 private:
  std::map<std::pair<std::string, std::string>, std::string> owners_;  ///< (task, path) -> host
};

}  // namespace deployd::engine
