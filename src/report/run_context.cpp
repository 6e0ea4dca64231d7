// SPDX-License-Identifier: MIT
// run.json: the writer and the reader (see run_context.hpp).
#include "report/run_context.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/escape.hpp"
#include "report/path_text.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

using OrderedJson = nlohmann::ordered_json;

OrderedJson strings(const std::vector<std::string>& texts) {
  OrderedJson list = OrderedJson::array();
  for (const std::string& text : texts) list.push_back(escape_json(text));
  return list;
}

std::string mask_var(const std::string& assignment) {
  const std::size_t equals = assignment.find('=');
  return equals == std::string::npos ? assignment : assignment.substr(0, equals + 1) + "***";
}

std::vector<std::string> strings_of(const OrderedJson& j, const char* key) {
  std::vector<std::string> texts;
  if (!j.contains(key)) return texts;
  for (const OrderedJson& text : j.at(key)) texts.push_back(text.get<std::string>());
  return texts;
}

}  // namespace

std::vector<std::string> masked_command_line(const std::vector<std::string>& argv) {
  std::vector<std::string> masked;
  bool next_is_var = false;
  for (const std::string& arg : argv) {
    if (next_is_var) {
      masked.push_back(mask_var(arg));
      next_is_var = false;
    } else if (arg == "--var") {
      masked.push_back(arg);
      next_is_var = true;
    } else if (arg.rfind("--var=", 0) == 0) {
      masked.push_back("--var=" + mask_var(arg.substr(6)));
    } else {
      masked.push_back(arg);
    }
  }
  return masked;
}

std::string write_run_context(const fs::path& dir, const RunContext& context) {
  OrderedJson j;
  j["command_line"] = strings(context.command_line);
  j["user"] = escape_json(context.user);
  j["cwd"] = escape_json(context.cwd);
  j["policy"] = OrderedJson::array();
  for (const auto& [key, value] : context.policy) j["policy"].push_back({key, escape_json(value)});
  j["hosts"] = strings(context.hosts);
  j["wave_ends"] = context.wave_ends;
  j["barriers"] = strings(context.barriers);
  const std::string text = j.dump() + "\n";
  const fs::path path = dir / "run.json";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int error = errno;
  if (fd >= 0 && ::close(fd) != 0) ok = false;
  if (ok) return {};
  return fmt::format("write {}: {}", quoted_path(path), std::strerror(error));
}

std::pair<RunContext, std::string> read_run_context(const fs::path& dir) {
  const fs::path path = dir / "run.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  RunContext context;
  try {
    const OrderedJson j = OrderedJson::parse(text.str());
    context.command_line = strings_of(j, "command_line");
    context.user = j.value("user", "");
    context.cwd = j.value("cwd", "");
    if (j.contains("policy"))
      for (const OrderedJson& pair : j.at("policy"))
        context.policy.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
    context.hosts = strings_of(j, "hosts");
    if (j.contains("wave_ends"))
      context.wave_ends = j.at("wave_ends").get<std::vector<std::size_t>>();
    context.barriers = strings_of(j, "barriers");
  } catch (const std::exception& error) {
    return {RunContext{}, fmt::format("{} is corrupt: {}", quoted_path(path), error.what())};
  }
  return {std::move(context), std::string()};
}

}  // namespace deployd::report
