// SPDX-License-Identifier: MIT
// OpenSSH client config files (ssh_config(5)): the keywords deployd uses, per host.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::plan {

/// One keyword's arguments as a config file writes them, and where.
struct SshConfigValue {
  std::string text;  ///< the arguments, unquoted and joined by spaces; tokens not yet expanded
  std::string file;
  int line = 0;
  int column = 0;  ///< of the keyword, 1-based
  /// `FILE:LINE`
  std::string where() const { return file + ":" + std::to_string(line); }
};

/// What a config says about one host: the first obtained value of each keyword wins, as in
/// OpenSSH; IdentityFile accumulates.
struct SshConfigHost {
  std::map<std::string, SshConfigValue> values;  ///< by lower-case keyword (`hostname`, `port`...)
  std::vector<SshConfigValue> identity_files;
  const SshConfigValue* find(const std::string& keyword) const;
};

/// A problem in a config file, located at FILE:LINE:COLUMN (the keyword's column).
struct SshConfigIssue {
  std::string file;
  int line = 0;
  std::string message;
  int column = 0;  ///< 0 when the issue concerns the whole file
  bool is_quiet = false;  ///< a keyword that changes nothing for deployd: said under -v only
};

/// What `Match` criteria may ask about the controller.
struct SshConfigContext {
  std::string home;        ///< `~`, and where relative `Include` paths start (`~/.ssh`)
  std::string local_user;  ///< `Match localuser`
};

/// A config file and every file it includes, read once; then looked up per host.
class SshConfig {
 public:
  /// Reads `path`; a missing file is an empty config unless `must_exist`.
  static SshConfig load(const std::string& path, const SshConfigContext& context, bool must_exist);
  /// Parses `text` as the file `file` (Include still reads files).
  static SshConfig parse(std::string_view text, const std::string& file,
                         const SshConfigContext& context);

  /// The values for `host` (the name ssh would be given), walking Host/Match blocks in order.
  SshConfigHost lookup(const std::string& host) const;

  /// Errors (bad values, unreadable Include): each makes the config unusable.
  const std::vector<SshConfigIssue>& errors() const { return errors_; }
  /// Unsupported keywords and Match criteria, one warning per keyword.
  const std::vector<SshConfigIssue>& warnings() const { return warnings_; }

  struct Entry;  ///< one line that matters: a block start, a setting or an Include

 private:
  SshConfigContext context_;
  std::shared_ptr<const std::vector<Entry>> entries_;
  std::vector<SshConfigIssue> errors_;
  std::vector<SshConfigIssue> warnings_;
};

/// The values `%` tokens stand for (ssh_config(5), TOKENS).
struct SshTokens {
  std::string host;           ///< %h: the host name dialled (after HostName)
  std::string original_host;  ///< %n
  std::string remote_user;    ///< %r
  std::string local_user;     ///< %u
  std::string port;           ///< %p
  std::string home;           ///< %d, and `~`
};

/// `text` with `%h %n %r %u %p %d %%` replaced and a leading `~` expanded; an unknown token
/// sets `error` (e.g. `unknown token "%z"`).
std::string expand_ssh_tokens(std::string_view text, const SshTokens& tokens, std::string& error);

/// True if `name` matches the OpenSSH pattern list `patterns` (comma separated, `*`, `?`, and
/// `!` negation: a negated match rejects whatever else matches). Case-insensitive.
bool match_ssh_pattern_list(std::string_view name, std::string_view patterns);

}  // namespace deployd::plan
