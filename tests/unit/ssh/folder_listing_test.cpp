// SPDX-License-Identifier: MIT
// Tests of src/ssh/folder_listing.cpp: what `find -printf` and `sha256sum -z` say about a remote
// folder, parsed; a hostile host's listing drops items rather than throwing.
#include "ssh/folder_listing.hpp"

#include <doctest/doctest.h>

#include <string>

namespace deployd::ssh {
namespace {

using namespace std::string_literals;

TEST_CASE("a listing gives each entry's type, mode, size, owner and group by path") {
  const std::string out =
      "d 755 4096 1000:deploy 1000:deploy \0"
      "f 644 12 0:root 0:root index.html\0"
      "d 700 4096 1000:deploy 33:www-data css\0"
      "f 600 7 1000:deploy 1000:deploy css/a b.css\0"s;
  const auto entries = parse_listing(out);
  REQUIRE(entries.size() == 4);
  CHECK(entries.at("").type == 'd');
  CHECK(entries.at("index.html").mode == 0644);
  CHECK(entries.at("index.html").size == 12);
  CHECK(entries.at("index.html").owner == "0:root");
  CHECK(entries.at("css").group == "33:www-data");
  CHECK(entries.at("css/a b.css").mode == 0600);  // a space in a name is part of it
}

TEST_CASE("items a hostile host sends that do not parse are dropped, never thrown") {
  const std::string out =
      "f abc 12 0:root 0:root bad-mode\0"
      "f 644 1x 0:root 0:root bad-size\0"
      "f 644 99999999999999999999999 0:root 0:root too-big\0"
      "f 644 12\0"
      "xx 644 12 0:root 0:root long-type\0"
      "\0"
      "f 644 3 0:root 0:root good\0"s;
  const auto entries = parse_listing(out);
  REQUIRE(entries.size() == 1);
  CHECK(entries.count("good") == 1);
}

TEST_CASE("hashes attach to the entries they name; others are ignored") {
  auto entries = parse_listing("f 644 3 0:root 0:root a\0f 644 3 0:root 0:root b\0"s);
  const std::string hash(64, 'e');
  add_hashes(entries, hash + "  a\0"s + hash + "  not-listed\0short\0"s);
  CHECK(entries.at("a").hash == hash);
  CHECK(entries.at("b").hash.empty());
  CHECK(entries.count("not-listed") == 0);
}

TEST_CASE("an owner or group is named by number or by name, and anyone matches empty") {
  CHECK(is_named("", "1000:deploy"));
  CHECK(is_named("1000", "1000:deploy"));
  CHECK(is_named("deploy", "1000:deploy"));
  CHECK_FALSE(is_named("root", "1000:deploy"));
  CHECK_FALSE(is_named("100", "1000:deploy"));
}

}  // namespace
}  // namespace deployd::ssh
