// SPDX-License-Identifier: MIT
// See get_claims.hpp.
#include "engine/get_claims.hpp"

#include <filesystem>
#include <system_error>

namespace deployd::engine {

std::string GetClaims::claim(const std::string& task, const std::string& local_path,
                             const std::string& host) {
  // "out/./x", "out//x" and "/abs/plan/out/x" are one file.
  std::error_code error;
  std::filesystem::path path = std::filesystem::absolute(local_path, error);
  if (error) path = local_path;
  auto [owner, is_new] = owners_.try_emplace({task, path.lexically_normal().string()}, host);
  return is_new || owner->second == host ? std::string() : owner->second;
}

}  // namespace deployd::engine
