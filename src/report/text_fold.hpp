// SPDX-License-Identifier: MIT
// One text for many hosts: what they have in common shown once, what differs marked.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deployd::report {

/// Folds the texts of many hosts (failure reasons, stderr lines, step labels) into one, when
/// they differ only in parts that are expected to differ from host to host: the host's own
/// name, durations (`860ms`, `1.2s`) and IPv4 addresses (with a port). Two texts fold together
/// when their other parts (the shape, shape_of()) are equal. The folded text keeps a varying
/// part when it is the same on every host, shows `<host>` where each host has its own name, and
/// `…` where the part differs otherwise:
///
///     node007: restart step 1 (run "/srv/node007/svc restart"): exited with status 1 after 0.9s
///     node023: restart step 1 (run "/srv/node023/svc restart"): exited with status 1 after 0.2s
///     -> restart step 1 (run "/srv/<host>/svc restart"): exited with status 1 after …
///
/// Memory: one host's pieces, whatever the number of hosts added.
class TextFold {
 public:
  /// The part of `text` that decides folding, for `host`: the varying parts replaced by a mark.
  static std::string shape_of(std::string_view text, std::string_view host);

  /// Adds a host's text; its shape must be the shape of the texts added before.
  void add(std::string_view text, std::string_view host);
  /// The folded text (empty before any add()).
  std::string text() const;

 private:
  struct Piece {
    std::string text;     ///< the first host's
    bool varies = false;  ///< a part that may differ between hosts
    bool is_host = true;  ///< so far, every host had its own name here
    bool same = true;     ///< so far, every host had the same text here
  };
  std::vector<Piece> pieces_;
  bool empty_ = true;
};

}  // namespace deployd::report
