// SPDX-License-Identifier: MIT
#include "report/path_text.hpp"

#include <nlohmann/json.hpp>

#include "report/escape.hpp"

namespace deployd::report {

std::string quoted_path(const std::filesystem::path& path) {
  return nlohmann::json(escape_json(path.string())).dump();
}

}  // namespace deployd::report
