// SPDX-License-Identifier: MIT
// Helpers for the report tests: an in-memory FILE* and events at fixed times.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "deployd/event.hpp"

namespace deployd::report::test {

/// A FILE* writing to memory (open_memstream); text() flushes and reads back all written.
class MemoryFile {
 public:
  MemoryFile() : file_(::open_memstream(&data_, &size_)) {}
  ~MemoryFile() {
    std::fclose(file_);
    std::free(data_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  std::FILE* get() const { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(data_, size_);
  }
  /// Bytes that reached memory so far: a memstream publishes only on fflush.
  std::size_t flushed_size() const { return size_; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

/// 2026-11-28T13:42:35.123Z, the time of the tests' first event.
inline Clock::time_point base_time() {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 28} + hours{13} + minutes{42} + seconds{35} + milliseconds{123};
}

/// An event `ms` milliseconds after base_time().
template <typename Body>
Event at(int ms, Body body) {
  return Event{base_time() + std::chrono::milliseconds{ms}, std::move(body)};
}

}  // namespace deployd::report::test
