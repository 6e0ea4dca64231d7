// SPDX-License-Identifier: MIT
// Template files (the `template` step, issue 18): the Jinja subset of `{{ }}`, `{% if %}`,
// `{% for %}` and `{# #}`, parsed once at load into a tree and rendered per host.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plan/expr.hpp"

namespace deployd::plan {

/// Why a template does not parse or cannot render, and where: 1-based line and column (in code
/// points) of the template file.
struct TemplateError {
  int line = 0;
  int column = 0;
  std::string message;
  /// Set when rendering met a name without a value (`message` says so too).
  std::string missing;
  /// `3:12: unknown tag "endfo" (did you mean "endfor"?)`
  std::string to_string() const;
};

/// A name a template reads (not a loop variable of its own), and the tag that reads it.
struct TemplateName {
  std::string name;
  int line = 0;
  int column = 0;
  bool may_be_undefined = false;  ///< inside `defined()`, or before a `default` filter
};

/// Bounds on one rendering, so that nested loops over big lists cannot fill the memory.
struct TemplateLimits {
  std::size_t max_bytes = std::size_t{64} << 20;  ///< of rendered text
  std::size_t max_steps = 10'000'000;             ///< nodes visited, loop turns included
};

/// The outcome of rendering: the text, or the first error.
struct RenderedText {
  std::string text;
  bool is_ok = true;
  TemplateError error;  ///< when not is_ok
};

/// A parsed template: immutable, shared by every host that renders it. Rendering never throws:
/// every failure is a TemplateError.
class TextTemplate {
 public:
  struct Node;
  ~TextTemplate();

  /// Parses `text`; on error, nullptr and `error` set.
  static std::shared_ptr<const TextTemplate> parse(std::string_view text, TemplateError& error);

  /// Renders with the names `scope` gives (plus the template's own loop variables).
  RenderedText render(Scope& scope, const TemplateLimits& limits = {}) const;

  /// The names its expressions read, each place once, in the order written; not its loop
  /// variables, nor `loop.*` inside a loop.
  const std::vector<TemplateName>& names() const { return names_; }

 private:
  TextTemplate();
  std::vector<Node> nodes_;
  std::vector<TemplateName> names_;
  friend class TemplateParser;
};

/// The tags of templates, for messages.
const std::vector<std::string>& template_tags();

}  // namespace deployd::plan
