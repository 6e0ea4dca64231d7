// SPDX-License-Identifier: MIT
// Fuzz target: ssh_config(5) text, host lookups in it, `%` tokens and pattern lists. Inputs that
// use Include are skipped: Include globs the machine's files, and a fuzz target must not.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "plan/host_pattern.hpp"
#include "plan/ssh_config.hpp"
#include "utf8_model.hpp"

namespace {

using namespace deployd::plan;

constexpr const char* kFile = "fuzz_config";

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void check_issues(const std::vector<SshConfigIssue>& issues, int lines) {
  for (const SshConfigIssue& issue : issues) {
    FUZZ_CHECK(issue.file == kFile);
    FUZZ_CHECK(issue.line >= 1 && issue.line <= lines && issue.column >= 1);
    FUZZ_CHECK(!issue.message.empty());
    // Messages go to the terminal: what they quote of the file must not be able to drive it.
    FUZZ_CHECK(deployd::fuzz::is_valid_utf8(issue.message));
    for (std::size_t at = 0; at < issue.message.size();) {
      const auto decoded = deployd::fuzz::decode_utf8(issue.message, at);
      FUZZ_CHECK(decoded.code_point >= 0x20 &&
                 (decoded.code_point < 0x7F || decoded.code_point > 0x9F));
      at += decoded.length;
    }
  }
}

void check_value(const SshConfigValue& value, int lines) {
  FUZZ_CHECK(value.file == kFile && value.line >= 1 && value.line <= lines);
}

// A plain name matches itself in any case, `*`, and not its own negation.
void check_patterns(std::string_view name) {
  if (!is_valid_name(name)) return;
  FUZZ_CHECK(match_ssh_pattern_list(name, name));
  FUZZ_CHECK(match_ssh_pattern_list(name, upper(name)));
  FUZZ_CHECK(match_ssh_pattern_list(name, "*"));
  FUZZ_CHECK(
      match_ssh_pattern_list(name, "nomatch-" + std::string(name) + "," + std::string(name)));
  FUZZ_CHECK(!match_ssh_pattern_list(name, "*,!" + std::string(name)));
}

void check_tokens(std::string_view text) {
  const SshTokens tokens{"h", "n", "r", "u", "22", "/home/fuzz"};
  std::string error;
  const std::string expanded = expand_ssh_tokens(text, tokens, error);
  if (text.find('%') == std::string_view::npos && text != "~" && !text.starts_with("~/")) {
    FUZZ_CHECK(error.empty() && expanded == text);
  }
  if (error.empty()) {  // `%%` is the only way to write a percent sign
    const auto percents = std::count(text.begin(), text.end(), '%');
    FUZZ_CHECK(std::count(expanded.begin(), expanded.end(), '%') <= percents / 2);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (lower(text).find("include") != std::string::npos) return 0;
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;

  const SshConfig config = SshConfig::parse(text, kFile, {"/nonexistent-fuzz-home", "fuzz"});
  check_issues(config.errors(), lines);
  check_issues(config.warnings(), lines);

  // Look up a few fixed names and every word of the text (what Host lines may match).
  std::vector<std::string> names = {"web01", "db", "bastion.example.com"};
  for (std::size_t start = 0; start < text.size() && names.size() < 12;) {
    const std::size_t end = std::min(text.find_first_of(" \t\r\n=", start), text.size());
    if (end > start) names.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string& name : names) {
    const SshConfigHost host = config.lookup(name);
    for (const auto& [keyword, value] : host.values) {
      FUZZ_CHECK(keyword == lower(keyword));
      check_value(value, lines);
    }
    for (const SshConfigValue& value : host.identity_files) check_value(value, lines);
    check_patterns(name);
    check_tokens(name);
  }
  check_tokens(text.substr(0, std::min<std::size_t>(text.size(), 200)));
  return 0;
}
