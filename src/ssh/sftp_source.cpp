// SPDX-License-Identifier: MIT
// Local files for `put`: mapped once, shared between hosts, hashed only when a check needs it.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "base/errno_text.hpp"
#include "ssh/sftp.hpp"

namespace deployd::ssh {
namespace {

std::string read_error(const std::string& path, int error) {
  return "cannot read local file \"" + path + "\": " + base::errno_text(error);
}

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::variant<std::shared_ptr<SourceFile>, std::string> SourceFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return read_error(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int error = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    return error == EISDIR ? "local path \"" + path + "\" is a folder, not a file"
                           : read_error(path, error);
  }
  std::shared_ptr<SourceFile> file(new SourceFile());
  file->path_ = path;
  file->size_ = static_cast<std::uint64_t>(st.st_size);
  file->mode_ = st.st_mode & 07777;
  file->mtime_ns_ = mtime_ns(st);
  file->inode_ = st.st_ino;
  if (file->size_ > 0) {
    void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      return read_error(path, error);
    }
    ::madvise(map, file->size_, MADV_SEQUENTIAL);
    file->data_ = static_cast<const char*>(map);
    file->is_mapped_ = true;
  }
  ::close(fd);  // the mapping stays valid
  return file;
}

std::shared_ptr<SourceFile> SourceFile::from_bytes(std::string path, std::string bytes,
                                                   unsigned mode) {
  std::shared_ptr<SourceFile> file(new SourceFile());
  file->path_ = std::move(path);
  file->owned_ = std::move(bytes);
  file->size_ = file->owned_.size();
  file->data_ = file->owned_.empty() ? nullptr : file->owned_.data();
  file->mode_ = mode;
  return file;
}

SourceFile::~SourceFile() {
  if (is_mapped_) ::munmap(const_cast<char*>(data_), size_);
}

const std::string& SourceFile::sha256() const {
  if (!sha256_.empty()) return sha256_;
  std::array<unsigned char, 32> digest{};
  unsigned length = 0;
  static const char empty = 0;
  EVP_Digest(data_ != nullptr ? data_ : &empty, size_, digest.data(), &length, EVP_sha256(),
             nullptr);
  static const char* const kHex = "0123456789abcdef";
  for (unsigned i = 0; i < length; ++i) {
    sha256_ += kHex[digest[i] >> 4];
    sha256_ += kHex[digest[i] & 15];
  }
  return sha256_;
}

std::variant<std::shared_ptr<SourceFile>, std::string> SourceCache::open(const std::string& path) {
  struct stat st {};
  if (auto found = files_.find(path); found != files_.end() && ::stat(path.c_str(), &st) == 0) {
    const SourceFile& file = *found->second;
    if (file.size_ == static_cast<std::uint64_t>(st.st_size) && file.mtime_ns_ == mtime_ns(st) &&
        file.inode_ == st.st_ino) {
      return found->second;
    }
  }
  auto opened = SourceFile::open(path);
  if (auto* file = std::get_if<std::shared_ptr<SourceFile>>(&opened)) files_[path] = *file;
  return opened;
}

std::string parent_folder(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string unpredictable_tag(std::string_view tag) {
  std::random_device random;  // libstdc++: getrandom(2) or the CPU's generator, never a PRNG
  const std::uint64_t bits = (std::uint64_t{random()} << 32) | random();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
  return std::string(tag) + "-" + hex;
}

std::string temp_path_for(std::string_view path, std::string_view tag) {
  const auto slash = path.rfind('/');
  const std::string_view folder = slash == std::string_view::npos ? "" : path.substr(0, slash + 1);
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return std::string(folder) + "." + std::string(name) + ".deployd-" + std::string(tag) + ".tmp";
}

}  // namespace deployd::ssh
