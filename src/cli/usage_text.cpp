// SPDX-License-Identifier: MIT
// Usage errors and --help's layout (see usage_text.hpp).
#include "cli/usage_text.hpp"

#include <charconv>

#include "plan/suggest.hpp"

namespace deployd::cli {
namespace {

std::string joined(const std::vector<std::string>& words, std::string_view separator) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : std::string(separator)) + word;
  return text;
}

}  // namespace

std::optional<std::size_t> parse_choice(std::string_view option, std::string_view value,
                                        const std::vector<std::string>& choices,
                                        std::string& error) {
  for (std::size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == value) return i;
  error = std::string(option) + ": unknown value " + plan::quote(value) +
          plan::did_you_mean(value, choices) + "; expected " + joined(choices, "|");
  return std::nullopt;
}

std::optional<int> parse_count(std::string_view option, std::string_view value, int most,
                               std::string& error) {
  int number = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, number);
  if (value.empty() || ec != std::errc() || ptr != end || number < 1 || number > most) {
    error = std::string(option) + ": expected a whole number from 1 to " + std::to_string(most) +
            ", got " + plan::quote(value);
    return std::nullopt;
  }
  return number;
}

std::string unknown_option_text(std::string_view arg, const std::vector<std::string>& known) {
  const std::string_view name = arg.substr(0, arg.find('='));
  return "unknown option " + plan::quote(name) + plan::did_you_mean(name, known);
}

std::string wrap(std::string_view text, std::size_t indent, std::size_t width, std::size_t start) {
  std::string out;
  std::size_t column = start;
  bool line_has_word = false;
  std::size_t from = 0;
  while (from <= text.size()) {
    std::size_t end = text.find(' ', from);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(from, end - from);
    from = end + 1;
    if (word.empty()) continue;
    if (line_has_word && column + 1 + word.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_has_word = false;
    }
    if (line_has_word) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_has_word = true;
  }
  return out + "\n";
}

std::string help_entry(std::string_view left, std::string_view text, std::size_t column,
                       std::size_t width) {
  std::string head = "  " + std::string(left);
  if (head.size() + 2 > column) {
    head += "\n" + std::string(column, ' ');
  } else {
    head += std::string(column - head.size(), ' ');
  }
  return head + wrap(text, column, width, column);
}

std::size_t help_width(std::size_t terminal_columns, const char* columns_env) {
  std::size_t width = terminal_columns;
  if (width == 0 && columns_env != nullptr) {
    std::size_t parsed = 0;
    const std::string_view text(columns_env);
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec == std::errc() && ptr == text.data() + text.size()) width = parsed;
  }
  if (width == 0) width = 80;
  return width < 40 ? 40 : width;
}

}  // namespace deployd::cli
