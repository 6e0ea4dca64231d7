// SPDX-License-Identifier: MIT
// Runs a `put` or `get` step: interpolate the paths, transfer over the connection, report.
#pragma once

#include <optional>
#include <string>

#include "async/awaitable.hpp"
#include "engine/step_runner.hpp"

namespace deployd::engine {

/// One attempt of a put or get step; the caller reports step_start and the returned step_end
/// (with `transfer`).
boost::asio::awaitable<Attempt> run_transfer_step(StepContext context);

/// `"0644"` as a number, or nullopt when it is not octal (the plan reader already checked it).
std::optional<unsigned> parse_mode(const std::string& text);

/// A remote path of a step: relative to its `cd` folder, `~/` made relative (SFTP's start).
std::string remote_path(const std::string& cwd, std::string path);

/// The permission bits of a local file (a template's: the rendered file's default), or 0644.
unsigned file_mode(const std::string& path);

/// `path` on the controller: as written when absolute, else under the step's folder (an imported
/// file's) or the plan's.
std::string local_path(const Plan& plan, const Step& step, const std::string& path);

}  // namespace deployd::engine
