// SPDX-License-Identifier: MIT
// `--output-dir DIR`: each host's stdout and stderr to DIR/HOST.out and DIR/HOST.err, as
// `pssh -o DIR -e DIR` writes them, from the run's output events alone.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "deployd/reporter.hpp"

namespace deployd::report {

/// Makes `dir` (and its parents) when missing; an error message when it cannot be made or is
/// not a folder, empty when it is ready.
std::string prepare_output_dir(const std::filesystem::path& dir);

/// The file name for `host`'s `stream`: `HOST.out` / `HOST.err`, a `/` in the name as `_`.
std::string output_file_name(const std::string& host, OutputStream stream);

/// Writes every output line of a host to its files, as the host printed it (bytes unchanged,
/// secrets already masked by the engine). A host's files are made at its first step (both,
/// so a host that printed nothing has empty files), replacing files of an earlier run, 0600,
/// never through a symlink (O_NOFOLLOW: a planted link is refused and warned about), and
/// closed when the host ends, so only running hosts hold descriptors. Work on the controller
/// goes to `local.out` / `local.err` ("local" is no host's name).
class OutputFilesReporter final : public Reporter {
 public:
  explicit OutputFilesReporter(std::filesystem::path dir);
  ~OutputFilesReporter() override;
  OutputFilesReporter(const OutputFilesReporter&) = delete;
  OutputFilesReporter& operator=(const OutputFilesReporter&) = delete;

  void on(const Event& event) override;
  void finish() override;

 private:
  struct File {
    int fd = -1;
    std::string buffer;
  };
  struct HostFiles {
    File out;
    File err;
  };

  HostFiles* open_host(const std::string& host);
  void flush(File& file, const std::string& host, OutputStream stream);
  void close_host(const std::string& host);

  std::filesystem::path dir_;
  int dir_fd_ = -1;
  std::map<std::string, HostFiles> open_;
  std::map<std::string, bool> seen_;  ///< hosts whose files were made: later opens append
  std::map<std::string, bool> failed_;  ///< hosts whose files could not be made: warned once
};

}  // namespace deployd::report
