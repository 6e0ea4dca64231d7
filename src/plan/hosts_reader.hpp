// SPDX-License-Identifier: MIT
// Reading `defaults`, `hosts` and the connection keys they share.
#pragma once

#include <string>
#include <vector>

#include "plan/draft.hpp"

namespace deployd::plan {

/// The connection keys of the contract, valid in `defaults` and in host objects.
const std::vector<std::string>& connection_keys();

/// Reads the connection keys present in `object` into `draft`, overriding what it holds.
void read_connection_keys(const Node& object, ConnectionDraft& draft, Diagnostics& diags);

/// Reads `defaults`: an object of connection keys.
ConnectionDraft read_defaults(const Node& node, Diagnostics& diags);

/// Reads the `hosts` list: strings and objects, with every range expanded.
std::vector<HostDraft> read_hosts(const Node& node, Diagnostics& diags);

/// `choice` if it is one of `allowed`, else reports `expected "a", "b" or "c", got ...`.
std::optional<std::string> read_choice(const Node& node, const std::vector<std::string>& allowed,
                                       Diagnostics& diags);

}  // namespace deployd::plan
