// SPDX-License-Identifier: MIT
// Fuzz target: template files (the `template` step, issue 18). The input is a template. Parsing
// never throws, and an error is located inside the text; a parsed template renders with every
// name bound (a list of objects, so that loops, fields and conditions all have something to
// read) without throwing, within its limits, the same way twice, and an error of rendering is
// located at a tag. Text without `{` renders to itself.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "plan/template_text.hpp"

namespace {

using namespace deployd;
using namespace deployd::plan;

// Every name has a value: a list of two objects `{"k": "v", "n": "1"}`, whatever its path.
class AllBound : public Scope {
 public:
  std::optional<Value> lookup(std::string_view name) override {
    if (name.ends_with(".k")) return Value("v");
    if (name.ends_with(".n") || name.ends_with(".0")) return Value("1");
    const Value item = Value::object({"k", "n"}, {Value("v"), Value("1")});
    return Value::list({item, item});
  }
};

int line_count(std::string_view text) {
  int lines = 1;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  return lines;
}

bool is_located(const TemplateError& error, std::string_view text) {
  return error.line >= 1 && error.line <= line_count(text) && error.column >= 1 &&
         static_cast<std::size_t>(error.column) <= text.size() + 1 && !error.message.empty();
}

RenderedText render(const TextTemplate& parsed) {
  AllBound scope;
  try {
    return parsed.render(scope, TemplateLimits{1 << 20, 100'000});
  } catch (...) {
    std::fprintf(stderr, "render threw\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  TemplateError error;
  std::shared_ptr<const TextTemplate> parsed;
  try {
    parsed = TextTemplate::parse(text, error);
  } catch (...) {
    std::fprintf(stderr, "parse threw\n");
    std::abort();
  }
  if (!parsed) {
    FUZZ_CHECK(is_located(error, text));
    FUZZ_CHECK(text.find('{') != std::string_view::npos);
    return 0;
  }
  for (const TemplateName& name : parsed->names())
    FUZZ_CHECK(!name.name.empty() && name.line >= 1 && name.line <= line_count(text));
  RenderedText first = render(*parsed);
  RenderedText second = render(*parsed);
  FUZZ_CHECK(first.is_ok == second.is_ok && first.text == second.text);
  if (first.is_ok) {
    FUZZ_CHECK(first.text.size() <= (1 << 20));
  } else {
    FUZZ_CHECK(is_located(first.error, text));
    // Every name is bound; only a field a loop item lacks (`item.x`) can be missing.
    FUZZ_CHECK(first.error.missing.empty() || first.error.missing.find('.') != std::string::npos);
    FUZZ_CHECK(first.error.to_string() == second.error.to_string());
  }
  if (text.find('{') == std::string_view::npos) FUZZ_CHECK(first.is_ok && first.text == text);
  return 0;
}
