// SPDX-License-Identifier: MIT
// read_templates: the file of each `template` step is read and parsed when the plan loads, and
// the names it reads are checked like a step's own (issue 18), so that nothing connects before
// every template is known to render.
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "plan/inventory.hpp"
#include "plan/suggest.hpp"
#include "plan/template_text.hpp"
#include "plan/validate.hpp"

namespace deployd::plan {
namespace {

// Templates are configuration files; a bigger one is most likely the wrong file.
constexpr std::uintmax_t kMaxTemplateBytes = 16 << 20;

struct ParsedFile {
  std::shared_ptr<const TextTemplate> parsed;  ///< null: the file was refused (reported once)
};

// The file's text, or why it cannot be a template.
std::optional<std::string> read_template_file(const std::string& path, std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error =
        errno == ENOENT ? "does not exist" : "cannot be read: " + std::string(std::strerror(errno));
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = S_ISDIR(st.st_mode) ? "is a folder, not a file" : "is not a regular file";
    return std::nullopt;
  }
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxTemplateBytes) {
    error = fmt::format("is larger than {} MiB: not a template", kMaxTemplateBytes >> 20);
    return std::nullopt;
  }
  std::optional<std::string> text = read_text_file(path, error);
  if (!text) error = "cannot be read: " + error;
  return text;
}

class TemplateReader {
 public:
  TemplateReader(std::string plan_folder, bool read_files, Diagnostics& diags)
      : plan_folder_(std::move(plan_folder)), read_files_(read_files), diags_(diags) {}

  void read(TaskDraft& draft) {
    for (std::size_t i = 0; i < draft.task.steps.size(); ++i) {
      Step& step = draft.task.steps[i];
      if (step.kind != StepKind::Template) continue;
      const Where where{draft.where.doc, step.json_pointer + "/template"};
      if (!read_files_) {
        diags_.error(where, "template files are not read in this load");
        continue;
      }
      // An imported file's templates sit beside it (imports.cpp sets its steps' folder).
      const std::filesystem::path folder(step.directory.empty() ? plan_folder_ : step.directory);
      step.template_file = (folder / step.command).lexically_normal().string();
      const ParsedFile& file = parse(step.template_file, where);
      if (!file.parsed) continue;
      step.text_template = file.parsed;
      for (const TemplateName& name : file.parsed->names())
        draft.templates.push_back(TemplateSite{where, name.name, i, nullptr, false,
                                               step.template_file, name.line, name.column,
                                               name.may_be_undefined});
    }
  }

 private:
  // Each file once, however many steps (or for_each copies) render it.
  const ParsedFile& parse(const std::string& path, const Where& where) {
    if (auto found = files_.find(path); found != files_.end()) return found->second;
    ParsedFile& file = files_[path];
    std::string error;
    std::optional<std::string> text = read_template_file(path, error);
    if (!text) {
      diags_.error(where, fmt::format("template {} {}", quote(path), error));
      return file;
    }
    TemplateError syntax;
    file.parsed = TextTemplate::parse(*text, syntax);
    if (!file.parsed)
      diags_.add(template_diagnostic(path, syntax.line, syntax.column, syntax.message, where));
    return file;
  }

  std::string plan_folder_;
  bool read_files_;
  Diagnostics& diags_;
  std::map<std::string, ParsedFile> files_;
};

}  // namespace

Diagnostic template_diagnostic(const std::string& file, int line, int column, std::string message,
                               const Where& step) {
  std::string at = step.pointer;
  if (step.doc) {
    const TextPosition position = step.doc->map.value_position(step.pointer);
    at = fmt::format("{}:{}:{}: {}", step.doc->file, position.line, position.column, step.pointer);
  }
  return Diagnostic{.file = file,
                    .line = line,
                    .column = column,
                    .message = fmt::format("{} (in the template of {})", message, at)};
}

void read_templates(std::vector<TaskDraft>& tasks, const std::string& plan_file, bool read_files,
                    Diagnostics& diags) {
  std::string folder = std::filesystem::path(plan_file).parent_path().string();
  TemplateReader reader(folder.empty() ? "." : folder, read_files, diags);
  for (TaskDraft& draft : tasks) reader.read(draft);
}

}  // namespace deployd::plan
