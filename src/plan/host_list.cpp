// SPDX-License-Identifier: MIT
// `-H @FILE` host lists (plan-format.md, "Host lists").
#include "plan/host_list.hpp"

#include <fmt/format.h>

#include "plan/inventory.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

void read_list(const std::string& path, std::vector<CommandLineHost>& hosts, Diagnostics& diags) {
  std::string error;
  auto text = read_text_file(path, error);
  if (!text) {
    diags.file_error(path, "cannot read host list (-H @" + path + "): " + error);
    return;
  }
  const std::size_t before = hosts.size();
  const std::size_t errors_before = diags.size();
  int line_number = 0;
  std::size_t start = 0;
  while (start < text->size()) {
    std::size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    start = end + 1;
    ++line_number;
    line = line.substr(0, line.find('#'));
    const std::size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    const std::size_t word_end = line.find_first_of(" \t\r", begin);
    const std::size_t next = word_end == std::string::npos
                                 ? std::string::npos
                                 : line.find_first_not_of(" \t\r", word_end);
    if (next != std::string::npos) {
      diags.add(Diagnostic{
          path, "", line_number, static_cast<int>(next) + 1,
          fmt::format("one host a line, got {} after {}",
                      quote(line.substr(next, line.find_last_not_of(" \t\r") + 1 - next)),
                      quote(line.substr(begin, word_end - begin)))});
      continue;
    }
    hosts.push_back(
        {line.substr(begin, word_end == std::string::npos ? std::string::npos : word_end - begin),
         path, line_number, static_cast<int>(begin) + 1});
  }
  // An empty list must not fall back to the plan's own targets.
  if (hosts.size() == before && diags.size() == errors_before)
    diags.file_error(path, "host list (-H @" + path + ") names no hosts");
}

}  // namespace

std::vector<CommandLineHost> expand_host_lists(const std::vector<std::string>& values,
                                               Diagnostics& diags) {
  std::vector<CommandLineHost> hosts;
  for (const std::string& value : values) {
    if (!value.empty() && value[0] == '@')
      read_list(value.substr(1), hosts, diags);
    else
      hosts.push_back({value, "", 0, 0});
  }
  return hosts;
}

}  // namespace deployd::plan
