// SPDX-License-Identifier: MIT
// Tests of src/report/size_text.cpp.
#include "report/size_text.hpp"

#include <doctest/doctest.h>

namespace deployd::report {

TEST_SUITE("report") {
  TEST_CASE("byte counts use binary units with one decimal above bytes") {
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(1023) == "1023 B");
    CHECK(format_bytes(1024) == "1.0 KiB");
    CHECK(format_bytes(3584) == "3.5 KiB");
    CHECK(format_bytes(std::uint64_t{64} << 20) == "64.0 MiB");
    CHECK(format_bytes(std::uint64_t{5} << 40) == "5.0 TiB");
    CHECK(format_bytes(std::uint64_t{3} << 50) == "3072.0 TiB");
  }
}

}  // namespace deployd::report
