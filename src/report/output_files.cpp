// SPDX-License-Identifier: MIT
// Per-host output files (see output_files.hpp).
#include "report/output_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/write_all.hpp"
#include "report/escape.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

// Lines are gathered per file and written in pieces of this size, or when a step ends.
constexpr std::size_t kFlushBytes = 64 * 1024;

void warn(const std::string& what, int code) {
  std::fprintf(stderr, "deployd: warning: --output-dir: %s: %s\n", escape_terminal(what).c_str(),
               std::strerror(code));
}

}  // namespace

std::string prepare_output_dir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error || !fs::is_directory(dir))
    return "--output-dir: cannot use \"" + escape_terminal(dir.string()) + "\" as a folder" +
           (error ? ": " + error.message() : ": it is not a folder");
  return {};
}

std::string output_file_name(const std::string& host, OutputStream stream) {
  std::string name = host;
  for (char& c : name)
    if (c == '/' || c == '\0') c = '_';
  return name + (stream == OutputStream::Stdout ? ".out" : ".err");
}

OutputFilesReporter::OutputFilesReporter(fs::path dir) : dir_(std::move(dir)) {
  dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) warn(dir_.string(), errno);
}

OutputFilesReporter::~OutputFilesReporter() {
  finish();
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

OutputFilesReporter::HostFiles* OutputFilesReporter::open_host(const std::string& host) {
  if (auto it = open_.find(host); it != open_.end()) return &it->second;
  if (dir_fd_ < 0 || failed_[host]) return nullptr;
  // The first open of a run replaces an earlier run's file; a host seen again appends.
  const int mode = seen_[host] ? O_APPEND : O_TRUNC;
  HostFiles files;
  for (auto [file, stream] : {std::pair{&files.out, OutputStream::Stdout}, std::pair{&files.err, OutputStream::Stderr}}) {
    const std::string name = output_file_name(host, stream);
    // O_NONBLOCK: a FIFO planted at the name fails (ENXIO) instead of blocking the engine.
    file->fd = ::openat(dir_fd_, name.c_str(),
                        O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | mode, 0600);
    int code = errno;
    struct stat st {};
    if (file->fd >= 0 && (::fstat(file->fd, &st) != 0 || !S_ISREG(st.st_mode))) {
      ::close(file->fd);
      file->fd = -1;
      code = EINVAL;  // not a regular file
    }
    if (file->fd < 0) {
      warn((dir_ / name).string(), code);
      if (files.out.fd >= 0) ::close(files.out.fd);
      failed_[host] = true;
      return nullptr;
    }
  }
  seen_[host] = true;
  return &open_.emplace(host, std::move(files)).first->second;
}

void OutputFilesReporter::flush(File& file, const std::string& host, OutputStream stream) {
  if (file.buffer.empty() || file.fd < 0) return;
  if (!base::write_all(file.fd, file.buffer)) {
    warn((dir_ / output_file_name(host, stream)).string(), errno);
    ::close(file.fd);
    file.fd = -1;  // the rest of this file is lost, said once; the run goes on
  }
  file.buffer.clear();
}

void OutputFilesReporter::close_host(const std::string& host) {
  auto it = open_.find(host);
  if (it == open_.end()) return;
  flush(it->second.out, host, OutputStream::Stdout);
  flush(it->second.err, host, OutputStream::Stderr);
  for (File* file : {&it->second.out, &it->second.err})
    if (file->fd >= 0) ::close(file->fd);
  open_.erase(it);
}

void OutputFilesReporter::on(const Event& event) {
  if (const auto* start = std::get_if<StepStart>(&event.body)) {
    open_host(start->host);
  } else if (const auto* output = std::get_if<Output>(&event.body)) {
    HostFiles* files = open_host(output->host);
    if (files == nullptr) return;
    File& file = output->stream == OutputStream::Stdout ? files->out : files->err;
    file.buffer += output->line;
    if (!output->is_partial) file.buffer += '\n';
    if (file.buffer.size() >= kFlushBytes) flush(file, output->host, output->stream);
  } else if (const auto* end = std::get_if<StepEnd>(&event.body)) {
    if (auto it = open_.find(end->host); it != open_.end()) {
      flush(it->second.out, end->host, OutputStream::Stdout);
      flush(it->second.err, end->host, OutputStream::Stderr);
    }
  } else if (const auto* host = std::get_if<HostEnd>(&event.body)) {
    close_host(host->host);
  }
}

void OutputFilesReporter::finish() {
  while (!open_.empty()) close_host(open_.begin()->first);
}

}  // namespace deployd::report
