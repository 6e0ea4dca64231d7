// SPDX-License-Identifier: MIT
// What a run was asked to do, as its summary.json records it, so that it can be run again.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace deployd::report {

/// A file a run read, and the sha256 of its bytes (lower-case hex).
struct FileDigest {
  std::string path;  ///< absolute
  std::string sha256;
};

/// An ad-hoc command (`deployd -H HOSTS -- COMMAND`): what a retry runs again instead of a plan.
struct AdHocRecord {
  std::string command;  ///< the words after `--`, joined by spaces
  bool sudo = false;    ///< --sudo
  std::string timeout;  ///< --timeout as given; empty: none
};

/// RunRecord holds what `--retry-failed` needs to run a plan again as it was run: the plan and
/// inventories with their digests, and the selection given on the command line. `--var` is not
/// recorded: values may be secrets, and the run log must not hold them.
struct RunRecord {
  FileDigest plan;
  std::vector<FileDigest> inventories;  ///< `-i`, in the order given
  std::vector<std::string> tasks;       ///< as named on the command line; empty: the default set
  std::optional<std::vector<std::string>> hosts;  ///< `-H`, if given
  std::optional<std::vector<std::string>> limit;  ///< `--limit`, if given
  std::string retry_of;                           ///< the run this one retried, if any
  std::optional<AdHocRecord> ad_hoc;              ///< set for an ad-hoc run (no plan file)
  std::vector<std::string> only;                  ///< `--only`: tasks run without their needs
};

}  // namespace deployd::report
