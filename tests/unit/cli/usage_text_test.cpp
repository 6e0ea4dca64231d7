// SPDX-License-Identifier: MIT
// Tests of src/cli/usage_text.cpp: usage errors in deployd's words, and --help's layout.
#include "cli/usage_text.hpp"

#include <doctest/doctest.h>

namespace deployd::cli {

namespace {

const std::vector<std::string> kOutputs{"stream", "group", "json"};

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("an enum value is taken as written, and its index given back") {
    std::string error;
    CHECK(parse_choice("--output", "group", kOutputs, error) == std::optional<std::size_t>(1));
    CHECK(error.empty());
  }

  TEST_CASE(
      "an unknown enum value names the option, suggests the closest value and lists them all") {
    std::string error;
    CHECK_FALSE(parse_choice("--output", "grouped", kOutputs, error));
    CHECK(
        error ==
        R"(--output: unknown value "grouped" (did you mean "group"?); expected stream|group|json)");
  }

  TEST_CASE("a numeric enum value is refused (CLI11 took the enum's number)") {
    std::string error;
    CHECK_FALSE(parse_choice("--output", "1", kOutputs, error));
    CHECK(error == R"(--output: unknown value "1"; expected stream|group|json)");
  }

  TEST_CASE("a count is a whole number from 1 to its most") {
    std::string error;
    CHECK(parse_count("--forks", "20", 100, error) == std::optional<int>(20));
    for (const char* bad : {"0", "-1", "abc", "2.5", "", "101", "99999999999999999999"}) {
      CAPTURE(bad);
      error.clear();
      CHECK_FALSE(parse_count("--forks", bad, 100, error));
      CHECK(error ==
            "--forks: expected a whole number from 1 to 100, got \"" + std::string(bad) + "\"");
    }
  }

  TEST_CASE("an unknown option is named with the closest known one") {
    const std::vector<std::string> known{"--dry-run", "--limit", "-n"};
    CHECK(unknown_option_text("--dryrun", known) ==
          R"(unknown option "--dryrun" (did you mean "--dry-run"?))");
    CHECK(unknown_option_text("--limits=web", known) ==
          R"(unknown option "--limits" (did you mean "--limit"?))");
    CHECK(unknown_option_text("--frobnicate", known) == R"(unknown option "--frobnicate")");
  }

  TEST_CASE("wrap breaks at spaces and indents the lines after the first") {
    CHECK(wrap("one two three four", 2, 10) == "one two\n  three\n  four\n");
    CHECK(wrap("a-word-longer-than-the-line b", 2, 10) == "a-word-longer-than-the-line\n  b\n");
  }

  TEST_CASE(
      "a help entry puts its text in the column, or on the next line when the names are long") {
    CHECK(help_entry("-q, --quiet", "print only the summary at the end", 16, 40) ==
          "  -q, --quiet   print only the summary\n"
          "                at the end\n");
    CHECK(help_entry("    --output stream|group|json", "the output", 16, 40) ==
          "      --output stream|group|json\n"
          "                the output\n");
  }

  TEST_CASE("help is as wide as the terminal, else $COLUMNS, else 80, and never under 40") {
    CHECK(help_width(120, "60") == 120);
    CHECK(help_width(0, "60") == 60);
    CHECK(help_width(0, "wide") == 80);
    CHECK(help_width(0, nullptr) == 80);
    CHECK(help_width(20, nullptr) == 40);
  }
}

}  // namespace deployd::cli
