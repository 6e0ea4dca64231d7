// SPDX-License-Identifier: MIT
// Names of the event enums as the contract spells them, and StatusCounts
// (include/deployd/event.hpp).
#include "deployd/event.hpp"

namespace deployd {

const char* to_string(OutputStream stream) {
  switch (stream) {
    case OutputStream::Stdout:
      return "stdout";
    case OutputStream::Stderr:
      return "stderr";
  }
  return "?";
}

const char* to_string(StepStatus status) {
  switch (status) {
    case StepStatus::Ok:
      return "ok";
    case StepStatus::Failed:
      return "failed";
    case StepStatus::Skipped:
      return "skipped";
    case StepStatus::TimedOut:
      return "timed_out";
    case StepStatus::Aborted:
      return "aborted";
  }
  return "?";
}

const char* to_string(HostStatus status) {
  switch (status) {
    case HostStatus::Ok:
      return "ok";
    case HostStatus::Failed:
      return "failed";
    case HostStatus::Unreachable:
      return "unreachable";
    case HostStatus::Skipped:
      return "skipped";
    case HostStatus::Aborted:
      return "aborted";
  }
  return "?";
}

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::Ok:
      return "ok";
    case RunStatus::Failed:
      return "failed";
    case RunStatus::Aborted:
      return "aborted";
    case RunStatus::Interrupted:
      return "interrupted";
  }
  return "?";
}

void StatusCounts::add(HostStatus status) {
  switch (status) {
    case HostStatus::Ok:
      ++ok;
      break;
    case HostStatus::Failed:
      ++failed;
      break;
    case HostStatus::Unreachable:
      ++unreachable;
      break;
    case HostStatus::Skipped:
      ++skipped;
      break;
    case HostStatus::Aborted:
      ++aborted;
      break;
  }
}

}  // namespace deployd
