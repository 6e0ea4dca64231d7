// SPDX-License-Identifier: MIT
// The files of a recursive put, pipelined on the one SFTP channel: while one file is written,
// the next ones are opened and given their mode, and the closes of the written ones are in
// flight, so a small file costs about one round trip instead of four (issue 18).

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "ssh/sftp_parts.hpp"
#include "ssh/ssh_error.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// Files opened ahead of the one being written, per SFTP channel.
constexpr std::size_t kOpenAhead = 8;
/// SFTP channels of one session a folder is sent over: each has its own open, mode change and
/// write in flight, so a host whose every request waits to be scheduled (a loaded machine)
/// sees several at once. Each is an `sftp-server` process on the host; within sshd's
/// MaxSessions (10).
constexpr std::size_t kChannels = 4;
/// A request other than a write is sent only when the channel's window holds it whole:
/// libssh2 1.10 fails an FXP_OPEN, FXP_FSETSTAT or FXP_CLOSE that is only partly sent.
constexpr unsigned long kWindowNeeded = 8 * 1024;

/// The result of one libssh2 call of the pipeline (as the jump host pump's).
enum class SendStep {
  Idle,        ///< nothing to do, or waiting for an answer
  Progress,    ///< something moved
  BlockedOut,  ///< a packet is half-sent: the same call must come next (docs/ssh-notes.md)
  Failed,      ///< t.outcome says why
};

struct File {
  const SourceTree::Entry* entry = nullptr;
  std::string path;
  LIBSSH2_SFTP_HANDLE* handle = nullptr;
  std::uint64_t acked = 0;  ///< bytes the server acknowledged
};

/// One SFTP channel's files in flight. libssh2 1.10 keeps the state of an SFTP open, fsetstat
/// and write in the SFTP channel (one of each in flight; after EAGAIN the same call must be
/// repeated) and a close's in its handle: so each channel has one open, one fsetstat and one
/// write going at once, besides any number of closes.
struct Channel {
  LIBSSH2_SFTP* sftp = nullptr;
  std::optional<File> opening;                 ///< its open sent, not answered yet
  std::deque<File> to_mode;                    ///< open, mode not set yet
  std::deque<File> to_write;                   ///< open with their mode
  bool is_moding = false, is_writing = false;  ///< in flight in libssh2
  bool is_busy() const { return opening.has_value() || is_moding || is_writing; }
  bool is_idle() const { return !is_busy() && to_mode.empty() && to_write.empty(); }
};

/// Sends the files over a session's SFTP channels: one coroutine drives every call, so that a
/// half-sent packet is always finished by the same call before any other (docs/ssh-notes.md,
/// "Half-sent packets: one sending call at a time").
class Sender {
 public:
  Sender(Transfer& t, const PutSpec& spec, const std::string& temp,
         const std::set<std::string>& skipped, const std::vector<LIBSSH2_SFTP*>& sftps)
      : t_(t), spec_(spec) {
    for (const SourceTree::Entry& entry : spec.tree->entries)
      if (!entry.is_folder && !skipped.contains(entry.path))
        to_open_.push_back(File{&entry, under(temp, entry.path)});
    for (LIBSSH2_SFTP* sftp : sftps) channels_.push_back(Channel{sftp});
  }

  awaitable<bool> run() {
    // The host answers many small requests back to back; sshd does not set TCP_NODELAY on a
    // non-interactive session, so its next answer waits for our ACK of the last (Nagle), and a
    // delayed ACK holds it 40 ms: ACK at once while the pipeline runs (docs/ssh-notes.md,
    // "Delayed ACK stalls").
    Link& link = t_.link();
    const bool was_quick = std::exchange(link.quickack, true);
    const bool is_sent = co_await pump();
    link.quickack = was_quick;
    co_return is_sent;
  }

 private:
  awaitable<bool> pump() {
    for (;;) {
      const bool moved = pass();
      t_.link().rearm_quickack();
      if (is_lost_) co_return co_await drop_all();
      const bool is_idle = std::all_of(channels_.begin(), channels_.end(),
                                       [](const Channel& c) { return c.is_idle(); }) &&
                           closing_.empty();
      if (is_stopping_ && is_idle) co_return false;
      if (!is_stopping_ && is_idle && to_open_.empty()) {
        t_.outcome.bytes = sent_;
        co_return true;
      }
      if (moved) continue;
      const int directions = libssh2_session_block_directions(t_.link().session);
      co_await t_.link().wait_ready(directions != 0 ? directions : LIBSSH2_SESSION_BLOCK_INBOUND);
    }
  }

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
    for (Channel& c : channels_) {
      if (!is_lost_ && !attempt([this, &c] { return write(c); }, &moved)) return moved;
      if (!is_lost_ && !attempt([this, &c] { return set_mode(c); }, &moved)) return moved;
      if (!is_lost_ && !attempt([this, &c] { return open(c); }, &moved)) return moved;
      if (is_stopping_ && !c.is_busy()) {
        // Nothing of it is half-done in libssh2 any more: close what is open.
        for (std::deque<File>* files : {&c.to_mode, &c.to_write})
          for (File& file : *files) closing_.push_back(std::move(file));
        c.to_mode.clear();
        c.to_write.clear();
      }
    }
    return moved;
  }

  bool attempt(std::function<SendStep()> operation, bool* moved) {
    const SendStep step = operation();
    if (step == SendStep::Progress) *moved = true;
    if (step == SendStep::Failed) {
      *moved = true;
      is_stopping_ = true;
      is_lost_ = !t_.is_usable() || failed_rc_ != LIBSSH2_ERROR_SFTP_PROTOCOL;
      if (is_lost_ && t_.is_usable()) {  // a later failure, after the one reported
        t_.impl.broken = t_.outcome.error;
        t_.link().abort();
      }
      return !is_lost_;
    }
    if (step != SendStep::BlockedOut) return true;
    stuck_ = std::move(operation);
    return false;
  }

  bool blocked_out() const {
    return (libssh2_session_block_directions(t_.link().session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) !=
           0;
  }
  static bool has_window(LIBSSH2_SFTP* sftp) {
    return libssh2_channel_window_write(libssh2_sftp_get_channel(sftp)) >= kWindowNeeded;
  }
  /// After a call returned `rc`: EAGAIN (in flight), or a failure recorded as `what`.
  SendStep waiting_or_failed(int rc, bool* in_flight, const std::string& what) {
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      if (in_flight != nullptr) *in_flight = true;
      return blocked_out() ? SendStep::BlockedOut : SendStep::Idle;
    }
    if (in_flight != nullptr) *in_flight = false;
    failed_rc_ = rc;
    if (!is_stopping_) t_.fail(rc, what);
    return SendStep::Failed;
  }
  std::string what(const File& file, const std::string& doing) const {
    return "put " + in_quotes(spec_.remote_path) + ": " + doing + " " + in_quotes(file.path);
  }

  /// Creates the next file (exclusively: never an existing file or a planted symlink).
  SendStep open(Channel& c) {
    if (!c.opening) {
      if (is_stopping_ || to_open_.empty() || c.to_mode.size() + c.to_write.size() >= kOpenAhead ||
          !has_window(c.sftp))
        return SendStep::Idle;
      c.opening = std::move(to_open_.front());
      to_open_.pop_front();
    }
    File& file = *c.opening;
    file.handle = libssh2_sftp_open_ex(
        c.sftp, file.path.data(), static_cast<unsigned>(file.path.size()),
        LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600, LIBSSH2_SFTP_OPENFILE);
    if (file.handle == nullptr) {
      const int rc = t_.last_rc();
      const SendStep step = waiting_or_failed(rc, nullptr, what(file, "cannot create"));
      if (step == SendStep::Failed) c.opening.reset();
      return step;
    }
    sftp_of_[file.handle] = c.sftp;
    c.to_mode.push_back(std::move(file));
    c.opening.reset();
    return SendStep::Progress;
  }

  /// Sets the mode on the open handle, never through the path, which may have been swapped for a
  /// symlink meanwhile (issue 16).
  SendStep set_mode(Channel& c) {
    if (!c.is_moding && (is_stopping_ || c.to_mode.empty() || !has_window(c.sftp)))
      return SendStep::Idle;
    File& file = c.to_mode.front();
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
    attrs.permissions = file.entry->mode;
    const int rc = libssh2_sftp_fsetstat(file.handle, &attrs);
    if (rc != 0) {
      const SendStep step = waiting_or_failed(rc, &c.is_moding, what(file, "set mode of"));
      if (step == SendStep::Failed) move_front(c.to_mode, closing_);
      return step;
    }
    c.is_moding = false;
    move_front(c.to_mode, c.to_write);
    return SendStep::Progress;
  }

  /// Writes the next chunk of the file at the front; several packets in flight inside libssh2.
  SendStep write(Channel& c) {
    if (!c.is_writing && (is_stopping_ || c.to_write.empty())) return SendStep::Idle;
    File& file = c.to_write.front();
    const std::string_view bytes = file.entry->file->bytes();
    if (file.acked < bytes.size()) {
      const std::size_t length = std::min<std::uint64_t>(kWriteChunk, bytes.size() - file.acked);
      const ssize_t n = libssh2_sftp_write(file.handle, bytes.data() + file.acked, length);
      if (n < 0) {
        const SendStep step =
            waiting_or_failed(static_cast<int>(n), &c.is_writing, what(file, "write"));
        if (step == SendStep::Failed) move_front(c.to_write, closing_);
        return step;
      }
      c.is_writing = false;
      file.acked += static_cast<std::uint64_t>(n);
      report(sent_ + file.acked);
      if (file.acked < bytes.size()) return n > 0 ? SendStep::Progress : SendStep::Idle;
    }
    sent_ += file.acked;
    move_front(c.to_write, closing_);
    return SendStep::Progress;
  }

  /// Sends or completes the close of `handle`; a close flushes the file, so its failure (a
  /// full disk) is the write's.
  SendStep close(LIBSSH2_SFTP_HANDLE* handle) {
    const auto found = std::find_if(closing_.begin(), closing_.end(),
                                    [handle](const File& file) { return file.handle == handle; });
    if (found == closing_.end()) return SendStep::Idle;
    const bool is_sent =
        std::find(sent_closes_.begin(), sent_closes_.end(), handle) != sent_closes_.end();
    if (!is_sent && !has_window(channel_of(handle))) return SendStep::Idle;
    const int rc = libssh2_sftp_close_handle(handle);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      if (!is_sent) sent_closes_.push_back(handle);
      return blocked_out() ? SendStep::BlockedOut : SendStep::Idle;
    }
    std::erase(sent_closes_, handle);
    sftp_of_.erase(handle);
    const File closed = std::move(*found);
    closing_.erase(found);
    if (rc == 0) return SendStep::Progress;
    failed_rc_ = rc;
    if (!is_stopping_) t_.fail(rc, what(closed, "write"));
    return SendStep::Failed;
  }
  /// The SFTP channel a handle belongs to (each handle's requests go on its own channel).
  LIBSSH2_SFTP* channel_of(LIBSSH2_SFTP_HANDLE* handle) const {
    const auto found = sftp_of_.find(handle);
    return found != sftp_of_.end() ? found->second : channels_.front().sftp;
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
    for (Channel& c : channels_)
      for (std::deque<File>* files : {&c.to_mode, &c.to_write})
        for (File& file : *files) closing_.push_back(std::move(file));
    for (File& file : closing_) co_await close_or_drop(t_, file.handle, LIBSSH2_ERROR_SOCKET_SEND);
    closing_.clear();
    channels_.clear();
    co_return false;
  }

  Transfer& t_;
  const PutSpec& spec_;
  std::deque<File> to_open_;  ///< in the tree's order
  std::vector<Channel> channels_;
  std::vector<File> closing_;  ///< written (or failed): their close to send or to complete
  std::vector<LIBSSH2_SFTP_HANDLE*> sent_closes_;  ///< closes in flight
  std::map<LIBSSH2_SFTP_HANDLE*, LIBSSH2_SFTP*> sftp_of_;
  std::function<SendStep()> stuck_;  ///< the call whose half-sent packet must be finished first
  bool is_stopping_ = false;     ///< a call failed: finish what is in flight, close, stop
  bool is_lost_ = false;         ///< the connection failed: drop everything
  int failed_rc_ = 0;            ///< the libssh2 code of the last failed call
  std::uint64_t sent_ = 0;       ///< bytes of the files written whole so far
};

/// The session's SFTP channel and up to kChannels - 1 more, opened once and kept with the
/// session. A channel the host refuses (its MaxSessions) just leaves fewer.
awaitable<std::vector<LIBSSH2_SFTP*>> sftp_channels(Transfer& t, std::size_t files,
                                                    const std::string& what) {
  std::vector<LIBSSH2_SFTP*> sftps{t.sftp()};
  const std::size_t wanted = std::min(kChannels, std::max<std::size_t>(1, files / 32)) - 1;
  Link& link = t.link();
  if (t.impl.more_sftp.size() < wanted && !t.impl.is_more_sftp_refused)
    co_await settle_open_ahead(t.impl);  // libssh2 has one channel open in progress at a time
  while (t.impl.more_sftp.size() < wanted && !t.impl.is_more_sftp_refused) {
    LIBSSH2_SFTP* sftp = co_await call(link, [&] { return libssh2_sftp_init(link.session); });
    if (sftp == nullptr) {
      t.impl.is_more_sftp_refused = true;
      const int rc = t.last_rc();
      if (is_connection_error(rc)) t.fail(rc, what + ": cannot start SFTP");
      break;
    }
    t.impl.more_sftp.push_back(sftp);
  }
  for (std::size_t i = 0; i < wanted && i < t.impl.more_sftp.size(); ++i)
    sftps.push_back(t.impl.more_sftp[i]);
  co_return sftps;
}

}  // namespace

awaitable<bool> send_files(Transfer& t, const PutSpec& spec, const std::string& temp,
                           const std::set<std::string>& skipped) {
  const std::vector<LIBSSH2_SFTP*> sftps =
      co_await sftp_channels(t, spec.tree->entries.size(), "put " + in_quotes(spec.remote_path));
  if (!t.is_usable()) co_return false;
  Sender sender(t, spec, temp, skipped, sftps);
  co_return co_await sender.run();
}

}  // namespace deployd::ssh
