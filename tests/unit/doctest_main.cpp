// SPDX-License-Identifier: MIT
// The one doctest main, compiled once and linked into every unit test binary.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
