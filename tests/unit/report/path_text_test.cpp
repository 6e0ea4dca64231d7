// SPDX-License-Identifier: MIT
#include "report/path_text.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "report/private_folder.hpp"

namespace deployd::report {
namespace {

TEST_SUITE("report") {
  TEST_CASE("a quoted path is JSON-quoted with each byte that is not UTF-8 as \\xNN") {
    CHECK(quoted_path("/var/log/deployd") == R"("/var/log/deployd")");
    CHECK(quoted_path("/tmp/a\"b") == R"("/tmp/a\"b")");
    CHECK(quoted_path("/tmp/caf\xc3\xa9") == "\"/tmp/caf\xc3\xa9\"");
    CHECK(quoted_path("/tmp/\xff-runs") == R"("/tmp/\\xff-runs")");
  }

  TEST_CASE("a run log file whose path is not UTF-8 gets a reason, not an exception") {
    // Before quoted_path, this message quoted the path with nlohmann's dump(), which throws on
    // bytes that are not UTF-8.
    struct stat st {};
    st.st_mode = S_IFDIR | 0700;
    CHECK(unsafe_file_reason(st, "/tmp/\xff/summary.json") ==
          R"("/tmp/\\xff/summary.json" is not a regular file)");
  }
}

}  // namespace
}  // namespace deployd::report
