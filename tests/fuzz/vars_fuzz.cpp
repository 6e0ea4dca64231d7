// SPDX-License-Identifier: MIT
// Fuzz target: `{{ EXPR }}` templates. The input is a template; each name it refers to is bound
// to a marker `\x01name{{x}}\x02` (in a plan value, written `\x01name\\{{x}}\x02`: values are
// templates), so the interpolated text shows where each value went, that it went in once (its
// own `{{x}}` is not expanded again) and that nothing else changed. Expressions beyond a name
// with `q` or `raw` have their own target (expr_fuzz.cpp); here they must keep the general
// properties: missing names are names the template reads, errors have a column.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "plan/vars.hpp"

namespace {

using namespace deployd;
using namespace deployd::plan;

std::string marker(std::string_view name) { return "\x01" + std::string(name) + "{{x}}\x02"; }
std::string escaped_marker(std::string_view name) {
  return "\x01" + std::string(name) + "\\{{x}}\x02";
}

bool is_keyword(std::string_view word) {
  return word == "and" || word == "or" || word == "not" || word == "in" || word == "true" ||
         word == "false";
}

// Every `{{ ... }}` holds a name and at most `q` and `raw` filters: what the marker walk knows.
bool has_only_names(std::string_view text) {
  for (std::size_t open = text.find("{{"); open != std::string_view::npos;
       open = text.find("{{", open + 2)) {
    if (open > 0 && text[open - 1] == '\\') continue;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return true;  // kept as written
    std::string_view inner = text.substr(open + 2, close - open - 2);
    std::size_t start = 0;
    for (int part = 0; start <= inner.size(); ++part) {
      std::size_t bar = std::min(inner.find('|', start), inner.size());
      std::string_view word = inner.substr(start, bar - start);
      while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
      while (!word.empty() && word.back() == ' ') word.remove_suffix(1);
      if (part == 0 ? (!is_valid_var_name(word) || is_keyword(word))
                    : (word != "q" && word != "raw"))
        return false;
      start = bar + 1;
    }
  }
  return true;
}

// `bound` is `plain` with some references replaced by markers: walk both in step. At a marker in
// `bound` where `plain` has none, `plain` must hold the reference `{{ name }}` (spaces allowed),
// or `{{ name | FILTER ... }}`; a `q` filter puts the marker in single quotes (markers hold none).
void check_substitutions(std::string_view plain, std::string_view bound) {
  std::size_t i = 0, j = 0;
  while (j < bound.size()) {
    const bool quoted = bound[j] == '\'' && j + 1 < bound.size() && bound[j + 1] == '\x01' &&
                        plain.substr(i, 2) == "{{";
    if (quoted || (bound[j] == '\x01' && (i >= plain.size() || plain[i] != '\x01'))) {
      if (quoted) ++j;
      const std::size_t end = bound.find('\x02', j);
      FUZZ_CHECK(end != std::string_view::npos);
      std::string_view name = bound.substr(j + 1, end - j - 1);
      FUZZ_CHECK(name.ends_with("{{x}}"));
      name.remove_suffix(5);
      FUZZ_CHECK(plain.substr(i, 2) == "{{");
      i += 2;
      while (i < plain.size() && plain[i] == ' ') ++i;
      FUZZ_CHECK(plain.substr(i, name.size()) == name);
      i += name.size();
      while (i < plain.size() && plain[i] != '}') {  // filters: `| q`, `|raw`...
        const char c = plain[i];
        FUZZ_CHECK(c == ' ' || c == '|' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
        ++i;
      }
      FUZZ_CHECK(plain.substr(i, 2) == "}}");
      i += 2;
      j = end + 1;
      if (quoted) {
        FUZZ_CHECK(j < bound.size() && bound[j] == '\'');
        ++j;
      }
      continue;
    }
    FUZZ_CHECK(i < plain.size() && plain[i] == bound[j]);
    ++i, ++j;
  }
  FUZZ_CHECK(i == plain.size());
}

// The contract's lookup order: --var overrides, registered, host vars, plan vars.
void check_lookup_order(const std::string& name) {
  Plan plan;
  Host host;
  VarMap registered;
  plan.overrides[name] = "override";
  registered[name] = "registered";
  host.vars[name] = "host";
  plan.vars[name] = "plan";
  const VarContext ctx{&plan, &host, &registered, "run"};
  FUZZ_CHECK(lookup_var(name, ctx) == "override");
  plan.overrides.clear();
  FUZZ_CHECK(lookup_var(name, ctx) == "registered");
  registered.clear();
  FUZZ_CHECK(lookup_var(name, ctx) == "host");
  host.vars.clear();
  FUZZ_CHECK(lookup_var(name, ctx) == "plan");
  plan.vars.clear();
  // Only the built-in `groups` (every group: none here) is left after the variables.
  FUZZ_CHECK(name == "groups" || !lookup_var(name, ctx));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::replace(text.begin(), text.end(), '\x01', 'a');  // the markers' own bytes
  std::replace(text.begin(), text.end(), '\x02', 'b');

  const std::vector<std::string> names = referenced_vars(text);
  for (const std::string& name : names) {
    FUZZ_CHECK(is_valid_var_name(name));
    FUZZ_CHECK(std::count(names.begin(), names.end(), name) == 1);
  }
  const std::string error = template_error(text);
  FUZZ_CHECK(error.empty() || error.find(" at column ") != std::string::npos ||
             error.starts_with("bad variable reference"));
  const bool simple = has_only_names(text);

  // Nothing bound but run.id: every other reference is missing and kept as written.
  const VarContext unbound{nullptr, nullptr, nullptr, marker("run.id")};
  const Interpolated plain = interpolate(text, unbound);
  std::vector<std::string> expected_missing;
  for (const std::string& name : names)
    if (name != "run.id") expected_missing.push_back(name);
  std::vector<std::string> first_seen;  // missing lists repeats; compare first occurrences
  for (const std::string& name : plain.missing)
    if (std::find(first_seen.begin(), first_seen.end(), name) == first_seen.end())
      first_seen.push_back(name);
  for (const std::string& name : first_seen)  // `a or b` stops at a: not every name is missing
    FUZZ_CHECK(std::find(names.begin(), names.end(), name) != names.end());
  if (error.empty() && simple) FUZZ_CHECK(first_seen == expected_missing);
  FUZZ_CHECK(plain.error.empty() || plain.error.find(": column ") != std::string::npos);
  FUZZ_CHECK(interpolate(text, unbound).text == plain.text);  // no hidden state

  // Every name bound: plan vars and the host's built-ins (host.port is a number, not a marker,
  // so a template using it runs without a host and its host.* names stay missing).
  Plan plan;
  for (const std::string& name : names)
    if (!is_reserved_var_name(name)) plan.vars[name] = escaped_marker(name);
  Host host;
  host.name = marker("host");
  host.address = marker("host.address");
  host.user = marker("host.user");
  const bool uses_port = std::find(names.begin(), names.end(), "host.port") != names.end();
  const VarContext bound_ctx{&plan, uses_port ? nullptr : &host, nullptr, marker("run.id")};
  const Interpolated bound = interpolate(text, bound_ctx);
  // A reference that does not parse stays as written (the loader refuses the template).
  for (const std::string& name : bound.missing)
    FUZZ_CHECK(is_reserved_var_name(name) || !error.empty());
  // Chained filters quote a quoted marker again: the walk below knows one filter at most.
  if (simple && std::count(text.begin(), text.end(), '|') <= 1)
    check_substitutions(plain.text, bound.text);

  // A text without `{{` is not a template: it comes back as it is.
  if (text.find("{{") == std::string::npos) {
    FUZZ_CHECK(names.empty() && error.empty());
    FUZZ_CHECK(plain.text == text && plain.missing.empty());
  }
  for (const std::string& name : names)
    if (!is_reserved_var_name(name)) {
      check_lookup_order(name);
      break;
    }
  return 0;
}
