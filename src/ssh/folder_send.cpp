// SPDX-License-Identifier: MIT
// The files of a recursive put, pipelined on the one SFTP channel: while one file is written,
// the next ones are opened and given their mode, and the closes of the written ones are in
// flight, so a small file costs about one round trip instead of four (issue 18).
#include <utility>  // first: Asio 1.18 with g++ 12 needs std::exchange (ssh-facts.md)
// (This comment keeps clang-format from sorting <utility> below the Asio headers.)

#include <algorithm>
#include <deque>
#include <functional>
#include <vector>

#include "ssh/sftp_parts.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// Files opened ahead of the one being written: handles held open on the server at once.
constexpr std::size_t kOpenAhead = 16;
/// Bytes per libssh2_sftp_write call, as for one file (sftp_transfer.cpp).
constexpr std::size_t kWriteChunk = 2 * 1024 * 1024;
/// A request other than a write is sent only when the channel's window holds it whole:
/// libssh2 1.10 fails an FXP_OPEN, FXP_FSETSTAT or FXP_CLOSE that is only partly sent.
constexpr unsigned long kWindowNeeded = 8 * 1024;

/// The result of one libssh2 call of the pipeline (as the jump host pump's).
enum class Step {
  Idle,        ///< nothing to do, or waiting for an answer
  Progress,    ///< something moved
  BlockedOut,  ///< a packet is half-sent: the same call must come next (ssh-facts.md)
  Failed,      ///< t.outcome says why
};

struct File {
  const SourceTree::Entry* entry = nullptr;
  std::string path;
  LIBSSH2_SFTP_HANDLE* handle = nullptr;
  std::uint64_t acked = 0;  ///< bytes the server acknowledged
};

/// libssh2 1.10 keeps the state of an SFTP open, fsetstat and write in the SFTP channel
/// (one of each in flight; after EAGAIN the same call must be repeated) and a close's in its
/// handle: so one open, one fsetstat and one write go at once, besides any number of closes.
class Sender {
 public:
  Sender(Transfer& t, const PutSpec& spec, const std::string& temp,
         const std::set<std::string>& skipped)
      : t_(t), spec_(spec) {
    for (const SourceTree::Entry& entry : spec.tree->entries)
      if (!entry.is_folder && !skipped.contains(entry.path))
        to_open_.push_back(File{&entry, under(temp, entry.path)});
  }

  awaitable<bool> run() {
    for (;;) {
      const bool moved = pass();
      if (is_lost_) co_return co_await drop_all();
      if (is_stopping_ && !is_busy() && to_mode_.empty() && to_write_.empty() && closing_.empty())
        co_return false;
      if (!is_stopping_ && to_open_.empty() && !is_busy() && to_mode_.empty() &&
          to_write_.empty() && closing_.empty()) {
        t_.outcome.bytes = sent_;
        co_return true;
      }
      if (moved) continue;
      const int directions = libssh2_session_block_directions(t_.link().session);
      co_await t_.link().wait_ready(directions != 0 ? directions : LIBSSH2_SESSION_BLOCK_INBOUND);
    }
  }

 private:
  /// One round over the calls that may go on; true if something moved.
  bool pass() {
    bool moved = false;
    if (stuck_) {
      auto operation = std::move(stuck_);
      if (!attempt(std::move(operation), &moved)) return moved;
    }
    std::vector<LIBSSH2_SFTP_HANDLE*> handles;
    for (const File& file : closing_) handles.push_back(file.handle);
    for (LIBSSH2_SFTP_HANDLE* handle : handles)
      if (!is_lost_ && !attempt([this, handle] { return close(handle); }, &moved)) return moved;
    if (!is_lost_ && !attempt([this] { return write(); }, &moved)) return moved;
    if (!is_lost_ && !attempt([this] { return set_mode(); }, &moved)) return moved;
    if (!is_lost_ && !attempt([this] { return open(); }, &moved)) return moved;
    if (is_stopping_ && !is_busy()) {
      // Nothing is half-done in libssh2 any more: close what is open, then stop.
      for (std::deque<File>* files : {&to_mode_, &to_write_})
        for (File& file : *files) closing_.push_back(std::move(file));
      to_mode_.clear();
      to_write_.clear();
    }
    return moved;
  }

  bool attempt(std::function<Step()> operation, bool* moved) {
    const Step step = operation();
    if (step == Step::Progress) *moved = true;
    if (step == Step::Failed) {
      *moved = true;
      is_stopping_ = true;
      is_lost_ = !t_.is_usable() || failed_rc_ != LIBSSH2_ERROR_SFTP_PROTOCOL;
      if (is_lost_ && t_.is_usable()) {  // a later failure, after the one reported
        t_.impl.broken = t_.outcome.error;
        t_.link().abort();
      }
      return !is_lost_;
    }
    if (step != Step::BlockedOut) return true;
    stuck_ = std::move(operation);
    return false;
  }

  bool is_busy() const { return is_opening_ || is_moding_ || is_writing_; }

  bool blocked_out() const {
    return (libssh2_session_block_directions(t_.link().session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) !=
           0;
  }
  bool has_window() const {
    return libssh2_channel_window_write(libssh2_sftp_get_channel(t_.sftp())) >= kWindowNeeded;
  }
  /// After a call returned `rc`: EAGAIN, or a failure recorded as `what`.
  Step waiting_or_failed(int rc, bool& in_flight, const std::string& what) {
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      in_flight = true;
      return blocked_out() ? Step::BlockedOut : Step::Idle;
    }
    in_flight = false;
    failed_rc_ = rc;
    if (!is_stopping_) t_.fail(rc, what);
    return Step::Failed;
  }
  std::string what(const File& file, const std::string& doing) const {
    return "put " + in_quotes(spec_.remote_path) + ": " + doing + " " + in_quotes(file.path);
  }

  /// Creates the next file (exclusively: never an existing file or a planted symlink).
  Step open() {
    if (!is_opening_ && (is_stopping_ || to_open_.empty() ||
                         to_mode_.size() + to_write_.size() >= kOpenAhead || !has_window()))
      return Step::Idle;
    File& file = to_open_.front();
    file.handle = libssh2_sftp_open_ex(
        t_.sftp(), file.path.data(), static_cast<unsigned>(file.path.size()),
        LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600, LIBSSH2_SFTP_OPENFILE);
    if (file.handle == nullptr) {
      const Step step = waiting_or_failed(t_.last_rc(), is_opening_, what(file, "cannot create"));
      if (step == Step::Failed) to_open_.pop_front();
      return step;
    }
    is_opening_ = false;
    to_mode_.push_back(std::move(file));
    to_open_.pop_front();
    return Step::Progress;
  }

  /// Sets the mode on the open handle, never through the path (issue 16).
  Step set_mode() {
    if (!is_moding_ && (is_stopping_ || to_mode_.empty() || !has_window())) return Step::Idle;
    File& file = to_mode_.front();
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
    attrs.permissions = file.entry->mode;
    const int rc = libssh2_sftp_fsetstat(file.handle, &attrs);
    if (rc != 0) {
      const Step step = waiting_or_failed(rc, is_moding_, what(file, "set mode of"));
      if (step == Step::Failed) move_front(to_mode_, closing_);
      return step;
    }
    is_moding_ = false;
    move_front(to_mode_, to_write_);
    return Step::Progress;
  }

  /// Writes the next chunk of the file at the front; several packets in flight inside libssh2.
  Step write() {
    if (!is_writing_ && (is_stopping_ || to_write_.empty())) return Step::Idle;
    File& file = to_write_.front();
    const std::string_view bytes = file.entry->file->bytes();
    if (file.acked < bytes.size()) {
      const std::size_t length = std::min<std::uint64_t>(kWriteChunk, bytes.size() - file.acked);
      const ssize_t n = libssh2_sftp_write(file.handle, bytes.data() + file.acked, length);
      if (n < 0) {
        const Step step =
            waiting_or_failed(static_cast<int>(n), is_writing_, what(file, "write"));
        if (step == Step::Failed) move_front(to_write_, closing_);
        return step;
      }
      is_writing_ = false;
      file.acked += static_cast<std::uint64_t>(n);
      report(sent_ + file.acked);
      if (file.acked < bytes.size()) return n > 0 ? Step::Progress : Step::Idle;
    }
    sent_ += file.acked;
    move_front(to_write_, closing_);
    return Step::Progress;
  }

  /// Sends or completes the close of `handle`; a close flushes the file, so its failure (a
  /// full disk) is the write's.
  Step close(LIBSSH2_SFTP_HANDLE* handle) {
    const auto found = std::find_if(closing_.begin(), closing_.end(),
                                    [handle](const File& file) { return file.handle == handle; });
    if (found == closing_.end()) return Step::Idle;
    File& file = *found;
    if (!has_window() && !is_closing(file)) return Step::Idle;
    const int rc = libssh2_sftp_close_handle(file.handle);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      sent_closes_.push_back(file.handle);
      return blocked_out() ? Step::BlockedOut : Step::Idle;
    }
    std::erase(sent_closes_, file.handle);
    const File closed = std::move(file);
    closing_.erase(found);
    if (rc == 0) return Step::Progress;
    failed_rc_ = rc;
    if (!is_stopping_) t_.fail(rc, what(closed, "write"));
    return Step::Failed;
  }
  bool is_closing(const File& file) const {
    return std::find(sent_closes_.begin(), sent_closes_.end(), file.handle) != sent_closes_.end();
  }

  static void move_front(std::deque<File>& from, auto& to) {
    to.push_back(std::move(from.front()));
    from.pop_front();
  }

  void report(std::uint64_t bytes) {
    if (spec_.on_progress) spec_.on_progress(bytes, spec_.tree->bytes);
  }

  /// The connection is lost: every handle is dropped (freed without a round trip).
  awaitable<bool> drop_all() {
    for (std::deque<File>* files : {&to_mode_, &to_write_})
      for (File& file : *files) closing_.push_back(std::move(file));
    for (File& file : closing_) co_await close_or_drop(t_, file.handle, LIBSSH2_ERROR_SOCKET_SEND);
    closing_.clear();
    to_mode_.clear();
    to_write_.clear();
    co_return false;
  }

  Transfer& t_;
  const PutSpec& spec_;
  std::deque<File> to_open_;   ///< in the tree's order
  std::deque<File> to_mode_;   ///< open, mode not set yet
  std::deque<File> to_write_;  ///< open with their mode
  std::vector<File> closing_;  ///< written (or failed): their close to send or to complete
  std::vector<LIBSSH2_SFTP_HANDLE*> sent_closes_;  ///< closes in flight
  std::function<Step()> stuck_;  ///< the call whose half-sent packet must be finished first
  bool is_opening_ = false, is_moding_ = false, is_writing_ = false;  ///< in flight in libssh2
  bool is_stopping_ = false;  ///< a call failed: finish what is in flight, close, stop
  bool is_lost_ = false;      ///< the connection failed: drop everything
  int failed_rc_ = 0;         ///< the libssh2 code of the last failed call
  std::uint64_t sent_ = 0;    ///< bytes of the files written whole so far
};

}  // namespace

awaitable<bool> send_files(Transfer& t, const PutSpec& spec, const std::string& temp,
                           const std::set<std::string>& skipped) {
  Sender sender(t, spec, temp, skipped);
  co_return co_await sender.run();
}

}  // namespace deployd::ssh
