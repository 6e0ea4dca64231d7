// SPDX-License-Identifier: MIT
// Host lists written compactly, as dshbak -c and pdsh do: `web[01-05,07],db1`.
#pragma once

#include <string>
#include <vector>

namespace deployd::base {

/// The hosts as one compact list: names that differ only in their last run of digits fold into
/// `prefix[a-b,c]suffix`. Groups keep the order of their first host; numbers inside a group are
/// sorted. Zero padding is kept: web01 and web1 are different hosts and never share a range.
/// The text is not escaped: callers escape it for where it goes.
std::string compress_hosts(const std::vector<std::string>& hosts);

}  // namespace deployd::base
