// SPDX-License-Identifier: MIT
// Test helper: a Plan from inline JSON text, failing the test with the errors if it is invalid.
#pragma once

#include <doctest/doctest.h>

#include <string_view>

#include "deployd/load.hpp"

namespace deployd::testing {

inline Plan plan_text(std::string_view text) {
  LoadOptions options;
  options.controller_user = "tester";
  options.home = "/home/tester";
  LoadResult loaded = parse_plan(text, "plan.json", options);
  for (const Diagnostic& error : loaded.errors) FAIL_CHECK(error.to_string());
  REQUIRE(loaded.plan.has_value());
  return *loaded.plan;
}

}  // namespace deployd::testing
