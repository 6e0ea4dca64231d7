// SPDX-License-Identifier: MIT
// Standard descriptors 0-2 open before anything else is (issue 16, item 14).
#pragma once

namespace deployd::cli {

/// Opens /dev/null on each of fds 0, 1 and 2 that is closed. Started with stdout closed, the
/// first file deployd opens (the run log's events.jsonl) would otherwise get fd 1 and receive
/// the terminal's text. Call first in main(); exits 71 (EX_OSERR) when /dev/null cannot be
/// opened, since nothing written after that could be trusted to go where it should.
void ensure_standard_fds();

}  // namespace deployd::cli
