// SPDX-License-Identifier: MIT
// FUZZ_CHECK: a property a fuzz target asserts. Unlike assert() it is never compiled out, and it
// says which property failed before aborting (libFuzzer then saves the input as a crash).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)
