// SPDX-License-Identifier: MIT
// Writing a report file whole or not at all (whole_file.hpp).
#include "report/whole_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace deployd::report {

std::string write_whole_file(const std::filesystem::path& file, std::string_view data) {
  std::string temporary = file.string() + ".XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);  // 0600, O_EXCL
  if (fd < 0) return std::strerror(errno);
  int code = 0;
  while (!data.empty() && code == 0) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EINTR) {
      code = errno;
    } else if (n == 0) {
      code = EIO;
    }
  }
  if (::close(fd) != 0 && code == 0) code = errno;
  if (code == 0 && ::rename(temporary.c_str(), file.c_str()) != 0) code = errno;
  if (code == 0) return {};
  ::unlink(temporary.c_str());
  return std::strerror(code);
}

}  // namespace deployd::report
