// SPDX-License-Identifier: MIT
// Reading `"shell"` and `"prefix"` (see shell_reader.hpp).
#include "plan/shell_reader.hpp"

#include "plan/fields.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

constexpr const char* kExpected =
    "\"sh\", \"bash\" or a command line ending in an option like \"-c\" that the command "
    "follows, e.g. [\"bash\", \"-l\", \"-c\"]";

// `-c`, `-lc`, `-ec`: the option after which a shell takes its command as the next word.
bool is_command_option(const std::string& word) {
  return word.size() >= 2 && word.front() == '-' && word.back() == 'c' && word[1] != '-';
}

}  // namespace

std::optional<std::vector<std::string>> read_shell(const Node& node, Diagnostics& diags) {
  const Json& value = node.value();
  if (value.is_string()) {
    const std::string name = value.get<std::string>();
    if (name == "sh") return std::vector<std::string>{};
    if (name == "bash") return std::vector<std::string>{"bash", "-c"};
    diags.error(node.where, expected_but_got(kExpected, value));
    return std::nullopt;
  }
  if (!value.is_array() || value.size() < 2) {
    diags.error(node.where, expected_but_got(kExpected, value));
    return std::nullopt;
  }
  std::vector<std::string> words;
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto word = read_string(node.item(i), diags);
    if (!word) return std::nullopt;
    if (word->find('\0') != std::string::npos) {
      diags.error(node.item(i).where, "a shell's word cannot hold a NUL byte");
      return std::nullopt;
    }
    words.push_back(*word);
  }
  if (!is_command_option(words.back())) {
    diags.error(node.item(value.size() - 1).where,
                "the shell's command line must end with the option that takes the command, "
                "like \"-c\" (got " +
                    quote(words.back()) + ")");
    return std::nullopt;
  }
  if (words == std::vector<std::string>{"sh", "-c"}) words.clear();  // the default, spelled out
  return words;
}

void read_shell_scope(const Node& object, Step& scope, TaskDraft& task, Diagnostics& diags) {
  if (auto key = object.find("shell"))
    if (auto shell = read_shell(*key, diags)) scope.shell = std::move(*shell);
  if (auto key = object.find("prefix")) {
    if (auto prefix = read_string(*key, diags)) {
      task.templates.push_back({key->where, *prefix, task.task.steps.size()});
      scope.prefixes.push_back(std::move(*prefix));
    }
  }
}

}  // namespace deployd::plan
