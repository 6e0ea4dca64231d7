// SPDX-License-Identifier: MIT
// OpenSSH client config files (ssh_config(5)): the keywords deployd uses, per host.
#include "plan/ssh_config.hpp"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "plan/host_pattern.hpp"
#include "plan/suggest.hpp"  // quote: messages quote config text as JSON strings

namespace deployd::plan {

struct SshConfig::Entry {
  enum class Kind { Host, Match, Setting, Include };
  Kind kind = Kind::Setting;
  std::string keyword;  ///< lower case
  std::vector<std::string> args;
  std::string file;
  int line = 0;
  int column = 0;  ///< the keyword's, 1-based
  std::vector<std::vector<Entry>> included;  ///< Include: each file it names, in order
};

namespace {

using Entry = SshConfig::Entry;

// OpenSSH's own limit on nested Include.
constexpr int kMaxIncludeDepth = 16;

// The keywords deployd applies, with their ssh_config(5) spelling for messages.
const std::map<std::string, std::string>& supported_keywords() {
  static const std::map<std::string, std::string> keywords = {
      {"hostname", "HostName"},
      {"user", "User"},
      {"port", "Port"},
      {"identityfile", "IdentityFile"},
      {"identitiesonly", "IdentitiesOnly"},
      {"proxyjump", "ProxyJump"},
      {"stricthostkeychecking", "StrictHostKeyChecking"},
      {"userknownhostsfile", "UserKnownHostsFile"},
      {"connecttimeout", "ConnectTimeout"},
      {"serveraliveinterval", "ServerAliveInterval"},
  };
  return keywords;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Splits a line into keyword and arguments: `Key value`, `Key=value`, "double quotes", and a
/// `#` that starts an unquoted word ends the line.
bool split_line(std::string_view line, std::string& keyword, std::vector<std::string>& args,
                std::string& error) {
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  };
  skip_space();
  if (i == line.size() || line[i] == '#') return false;
  const std::size_t start = i;
  while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])) && line[i] != '=')
    ++i;
  keyword = lower(line.substr(start, i - start));
  skip_space();
  if (i < line.size() && line[i] == '=') ++i;
  while (true) {
    skip_space();
    if (i == line.size() || line[i] == '#') break;
    std::string word;
    if (line[i] == '"') {
      const std::size_t close = line.find('"', i + 1);
      if (close == std::string_view::npos) {
        error = "unterminated quote";
        return true;
      }
      word = std::string(line.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
        word += line[i++];
    }
    args.push_back(std::move(word));
  }
  return true;
}

bool is_yes_no(const std::string& value) { return value == "yes" || value == "no"; }

/// OpenSSH's time format for ConnectTimeout and ServerAliveInterval: seconds, or a number with
/// one of s m h d w (`90`, `30s`, `5m`); -1 when malformed.
long long parse_seconds(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return -1;
  std::size_t end = 0;
  long long value = 0;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) {
    value = value * 10 + (text[end++] - '0');
    if (value > 100'000'000) return -1;
  }
  if (end == text.size()) return value;
  if (end + 1 != text.size()) return -1;
  switch (std::tolower(static_cast<unsigned char>(text[end]))) {
    case 's':
      return value;
    case 'm':
      return value * 60;
    case 'h':
      return value * 3600;
    case 'd':
      return value * 86400;
    case 'w':
      return value * 604800;
    default:
      return -1;
  }
}

/// A ProxyJump hop without an `ssh://` prefix, or "" if it is not `[user@]host[:port]`.
std::string jump_hop(std::string_view hop) {
  if (hop.starts_with("ssh://")) hop.remove_prefix(6);
  HostSpec spec = parse_host_spec(hop);
  return spec.error.empty() && is_valid_name(spec.name) && !has_range(spec.name) ? std::string(hop)
                                                                                 : "";
}

/// The reason a supported keyword's arguments are wrong, or "".
std::string check_setting(const std::string& keyword, const std::vector<std::string>& args) {
  const std::string& name = supported_keywords().at(keyword);
  if (args.empty()) return quote(name) + " needs a value";
  const std::string value = lower(args[0]);
  if (keyword == "port") {
    const long long port = parse_seconds(args[0]);
    if (args[0].find_first_not_of("0123456789") != std::string::npos || port < 1 || port > 65535)
      return "bad Port " + quote(args[0]) + " (expected a number from 1 to 65535)";
  } else if (keyword == "identitiesonly" && !is_yes_no(value)) {
    return "bad IdentitiesOnly " + quote(args[0]) + " (expected yes or no)";
  } else if (keyword == "stricthostkeychecking" && !is_yes_no(value) && value != "ask" &&
             value != "accept-new" && value != "off") {
    return "bad StrictHostKeyChecking " + quote(args[0]) +
           " (expected yes, accept-new, no, off or ask)";
  } else if ((keyword == "connecttimeout" || keyword == "serveraliveinterval") &&
             parse_seconds(args[0]) < 0) {
    return "bad " + name + " " + quote(args[0]) + " (expected seconds, e.g. 10 or 10s)";
  } else if (keyword == "proxyjump" && value != "none") {
    std::stringstream hops(args[0]);
    for (std::string hop; std::getline(hops, hop, ',');)
      if (jump_hop(hop).empty())
        return "bad ProxyJump hop " + quote(hop) + " (expected [user@]host[:port])";
  }
  return "";
}

/// Reads a file's text; false with `error` set (e.g. `no such file or directory`).
bool read_text(const std::string& path, std::string& text, std::string& error) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    error = "is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    if (!error.empty())
      error[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(error[0])));
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return true;
}

/// Builds the entries of files, with every issue found.
class ConfigParser {
 public:
  ConfigParser(const SshConfigContext& context, std::vector<SshConfigIssue>& errors,
               std::vector<SshConfigIssue>& warnings)
      : context_(context), errors_(errors), warnings_(warnings) {}

  std::vector<Entry> parse(std::string_view text, const std::string& file, int depth) {
    std::vector<Entry> entries;
    int number = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      ++number;
      parse_line(text.substr(start, end - start), file, number, depth, entries);
      start = end + 1;
    }
    return entries;
  }

 private:
  void error(const Entry& at, std::string message) {
    errors_.push_back({at.file, at.line, std::move(message), at.column});
  }
  void warn_once(const std::string& name, const Entry& at, std::string message,
                 bool is_quiet = false) {
    if (warned_.insert(name).second)
      warnings_.push_back({at.file, at.line, std::move(message), at.column, is_quiet});
  }

  // Keywords of a usual ~/.ssh/config that change nothing for deployd, which has one session
  // per host, no terminal, no prompts, no forwarding: connection sharing, compression, the
  // known_hosts hashing of new keys, agent loading, keep-alive counts (ServerAliveInterval is
  // read), logging. `ForwardAgent yes` and `ForwardX11 yes` ask for what deployd does not do:
  // they are warned about.
  static bool is_harmless(const std::string& keyword, const std::vector<std::string>& args) {
    static const std::set<std::string> kHarmless{
        "addkeystoagent", "batchmode",          "checkhostip",         "compression",
        "controlmaster",  "controlpath",        "controlpersist",      "escapechar",
        "hashknownhosts", "loglevel",           "serveralivecountmax", "tcpkeepalive",
        "updatehostkeys", "usekeychain",        "visualhostkey",       "requesttty",
        "ignoreunknown",  "connectionattempts", "exitonforwardfailure"};
    if (kHarmless.count(keyword)) return true;
    const bool is_no = !args.empty() && lower(args[0]) == "no";
    return is_no &&
           (keyword == "forwardagent" || keyword == "forwardx11" || keyword == "forwardx11trusted");
  }

  void parse_line(std::string_view text, const std::string& file, int number, int depth,
                  std::vector<Entry>& entries) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    Entry entry;
    std::string split_error;
    if (!split_line(text, entry.keyword, entry.args, split_error)) return;
    entry.file = file;
    entry.line = number;
    entry.column = static_cast<int>(text.find_first_not_of(" \t") + 1);  // a keyword is there
    if (!split_error.empty()) return error(entry, split_error);
    if (entry.keyword == "host") {
      entry.kind = Entry::Kind::Host;
      if (entry.args.empty()) return error(entry, "\"Host\" needs at least one pattern");
    } else if (entry.keyword == "match") {
      entry.kind = Entry::Kind::Match;
      if (!check_match(entry)) return;
    } else if (entry.keyword == "include") {
      entry.kind = Entry::Kind::Include;
      if (entry.args.empty()) return error(entry, "\"Include\" needs a file");
      include(entry, depth);
    } else if (supported_keywords().count(entry.keyword)) {
      if (std::string problem = check_setting(entry.keyword, entry.args); !problem.empty())
        return error(entry, problem);
    } else {
      // issue 19: as written (`BatchMode`, not `batchmode`); quiet for what does not matter.
      const std::string written(
          text.substr(static_cast<std::size_t>(entry.column - 1),
                      text.find_first_of(" \t=", static_cast<std::size_t>(entry.column - 1)) -
                          static_cast<std::size_t>(entry.column - 1)));
      const bool is_quiet = is_harmless(entry.keyword, entry.args);
      return warn_once(
          entry.keyword, entry,
          (is_quiet ? "keyword " + quote(written) + " does not apply to deployd: ignored"
                    : "unsupported keyword " + quote(written) + " ignored"),
          is_quiet);
    }
    entries.push_back(std::move(entry));
  }

  // `Match` criteria: all, host, originalhost, user, localuser (each may be negated with `!`);
  // others (exec, canonical, final...) are warned about and never match.
  bool check_match(const Entry& entry) {
    if (entry.args.empty()) return error(entry, "\"Match\" needs criteria"), false;
    for (std::size_t i = 0; i < entry.args.size(); ++i) {
      std::string criterion = lower(entry.args[i]);
      if (criterion.starts_with("!")) criterion.erase(0, 1);
      if (criterion == "all") continue;
      if (criterion == "host" || criterion == "originalhost" || criterion == "user" ||
          criterion == "localuser") {
        if (++i == entry.args.size()) {
          error(entry, "\"Match " + criterion + "\" needs patterns");
          return false;
        }
        continue;
      }
      warn_once("match " + criterion, entry,
                "unsupported Match criterion " + quote(criterion) + ": the block never applies");
      if (criterion == "exec" || criterion == "localnetwork" || criterion == "tagged") ++i;
    }
    return true;
  }

  // Relative paths start in ~/.ssh (a user's config); each glob's files in sorted order.
  void include(Entry& entry, int depth) {
    if (depth >= kMaxIncludeDepth) {
      error(entry, "Include nested too deeply (more than 16 levels)");
      return;
    }
    for (const std::string& arg : entry.args) {
      std::string pattern = arg;
      if (pattern == "~" || pattern.starts_with("~/"))
        pattern = context_.home + pattern.substr(1);
      else if (!pattern.starts_with("/"))
        pattern = context_.home + "/.ssh/" + pattern;
      glob_t found{};
      const int rc = ::glob(pattern.c_str(), 0, nullptr, &found);
      if (rc != 0 && rc != GLOB_NOMATCH) {
        error(entry, "cannot read Include " + quote(arg));
      }
      for (std::size_t i = 0; rc == 0 && i < found.gl_pathc; ++i) {
        const std::string path = found.gl_pathv[i];
        std::string text;
        std::string reason;
        if (!read_text(path, text, reason)) {
          error(entry, "cannot read Include " + quote(path) + ": " + reason);
          continue;
        }
        entry.included.push_back(parse(text, path, depth + 1));
      }
      ::globfree(&found);
    }
  }

  const SshConfigContext& context_;
  std::vector<SshConfigIssue>& errors_;
  std::vector<SshConfigIssue>& warnings_;
  std::set<std::string> warned_;
};

bool glob_match(std::string_view name, std::string_view pattern) {
  // Iterative `*`/`?` matcher with backtracking to the last star.
  std::size_t n = 0, p = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++n;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

/// The state of one lookup: what Match criteria compare against.
struct Walk {
  const std::string& original_host;
  const SshConfigContext& context;
  SshConfigHost& out;

  /// `Match host` compares with the HostName obtained so far (`%h` in it is the original).
  std::string current_host() const {
    const SshConfigValue* hostname = out.find("hostname");
    if (!hostname) return original_host;
    std::string error;
    return expand_ssh_tokens(hostname->text,
                             SshTokens{original_host, original_host, "", "", "", ""}, error);
  }

  bool host_line_matches(const Entry& entry) const {
    bool matched = false;
    for (const std::string& pattern : entry.args) {
      const bool negated = pattern.starts_with("!");
      if (!glob_match(lower(original_host), lower(negated ? pattern.substr(1) : pattern))) continue;
      if (negated) return false;
      matched = true;
    }
    return matched;
  }

  bool match_line_matches(const Entry& entry) const {
    for (std::size_t i = 0; i < entry.args.size(); ++i) {
      std::string criterion = lower(entry.args[i]);
      const bool negated = criterion.starts_with("!");
      if (negated) criterion.erase(0, 1);
      bool result = false;
      if (criterion == "all") {
        result = true;
      } else if (criterion == "host" || criterion == "originalhost" || criterion == "user" ||
                 criterion == "localuser") {
        const std::string& patterns = entry.args[++i];
        std::string subject = criterion == "host"           ? current_host()
                              : criterion == "originalhost" ? original_host
                              : criterion == "localuser"    ? context.local_user
                              : out.find("user")            ? out.find("user")->text
                                                            : context.local_user;
        result = match_ssh_pattern_list(subject, patterns);
      } else {
        if (criterion == "exec" || criterion == "localnetwork" || criterion == "tagged") ++i;
        return false;  // unsupported: warned at parse time
      }
      if (result == negated) return false;
    }
    return true;
  }

  void apply(const Entry& entry) {
    if (entry.keyword == "identityfile") {
      out.identity_files.push_back({entry.args[0], entry.file, entry.line, entry.column});
      return;
    }
    std::string text;
    for (const std::string& arg : entry.args) text += (text.empty() ? "" : " ") + arg;
    out.values.try_emplace(entry.keyword, SshConfigValue{text, entry.file, entry.line, entry.column});
  }

  // Each file starts active; an Include's files run with the includer's state, which they do
  // not change (OpenSSH readconf.c).
  void walk(const std::vector<Entry>& entries) {
    bool active = true;
    for (const Entry& entry : entries) {
      switch (entry.kind) {
        case Entry::Kind::Host:
          active = host_line_matches(entry);
          break;
        case Entry::Kind::Match:
          active = match_line_matches(entry);
          break;
        case Entry::Kind::Include:
          if (active)
            for (const auto& file : entry.included) walk(file);
          break;
        case Entry::Kind::Setting:
          if (active) apply(entry);
          break;
      }
    }
  }
};

}  // namespace

const SshConfigValue* SshConfigHost::find(const std::string& keyword) const {
  auto found = values.find(keyword);
  return found == values.end() ? nullptr : &found->second;
}

SshConfig SshConfig::load(const std::string& path, const SshConfigContext& context,
                          bool must_exist) {
  std::string text;
  std::string reason;
  if (!read_text(path, text, reason)) {
    SshConfig config;
    config.context_ = context;
    config.entries_ = std::make_shared<std::vector<Entry>>();
    if (must_exist || errno != ENOENT)
      config.errors_.push_back({path, 0, "cannot read ssh_config: " + reason});
    return config;
  }
  return parse(text, path, context);
}

SshConfig SshConfig::parse(std::string_view text, const std::string& file,
                           const SshConfigContext& context) {
  SshConfig config;
  config.context_ = context;
  ConfigParser parser(config.context_, config.errors_, config.warnings_);
  config.entries_ = std::make_shared<std::vector<Entry>>(parser.parse(text, file, 0));
  return config;
}

SshConfigHost SshConfig::lookup(const std::string& host) const {
  SshConfigHost out;
  Walk walk{host, context_, out};
  walk.walk(*entries_);
  return out;
}

std::string expand_ssh_tokens(std::string_view text, const SshTokens& tokens, std::string& error) {
  std::string out;
  if (text == "~" || text.starts_with("~/")) {
    out = tokens.home;
    text.remove_prefix(1);
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) {
      error = "a lone \"%\" at the end (write \"%%\" for a percent sign)";
      return out;
    }
    switch (text[i]) {
      case '%':
        out += '%';
        break;
      case 'h':
        out += tokens.host;
        break;
      case 'n':
        out += tokens.original_host;
        break;
      case 'r':
        out += tokens.remote_user;
        break;
      case 'u':
        out += tokens.local_user;
        break;
      case 'p':
        out += tokens.port;
        break;
      case 'd':
        out += tokens.home;
        break;
      default:
        error = "unknown token " + quote(std::string("%") + text[i]) +
                " (deployd knows %h %n %r %u %p %d %%)";
        return out;
    }
  }
  return out;
}

bool match_ssh_pattern_list(std::string_view name, std::string_view patterns) {
  const std::string subject = lower(name);
  bool matched = false;
  std::size_t start = 0;
  while (start <= patterns.size()) {
    std::size_t end = patterns.find(',', start);
    if (end == std::string_view::npos) end = patterns.size();
    std::string pattern = lower(patterns.substr(start, end - start));
    start = end + 1;
    const bool negated = pattern.starts_with("!");
    if (negated) pattern.erase(0, 1);
    if (pattern.empty() || !glob_match(subject, pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

}  // namespace deployd::plan
