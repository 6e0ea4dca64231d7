// SPDX-License-Identifier: MIT
// Running one command on a channel: stdout and stderr as they come, exit status or signal.
#include <libssh2.h>

#include <algorithm>
#include <array>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <span>

#include "base/duration_text.hpp"
#include "ssh/alarm.hpp"
#include "ssh/debug_log.hpp"
#include "ssh/session_impl.hpp"
#include "ssh/ssh_error.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;
using Clock = Alarm::Clock;

/// The receive window: the server may send this much before we read (docs/ssh-notes.md).
constexpr unsigned kWindow = 2 * 1024 * 1024;

/// What a waiting call returns when the peer has not answered keepalives for too long.
constexpr int kPeerSilent = -1001;

/// One command in flight: its channel and the alarm for its timeout and the keepalives.
struct Exec {
  Session::Impl& impl;
  const ExecSpec& spec;
  Alarm alarm;
  LIBSSH2_CHANNEL* channel = nullptr;
  std::optional<Clock::time_point> deadline;
  Clock::time_point opened{};  ///< when the channel was open (`-v` timings)
  std::optional<Clock::time_point> next_keepalive;
  /// When the first keepalive that the peer has not answered yet was sent.
  std::optional<Clock::time_point> probe_sent;
  /// When the alarm was set to wake us, and the longest our own loop was late for it.
  std::optional<Clock::time_point> alarm_time;
  Clock::duration loop_lag{};

  Link& link() { return impl.link; }
  bool is_past_deadline() const { return deadline && Clock::now() >= *deadline; }
  /// The deadline passed or Session::cancel() asked: stop waiting for the command.
  bool is_stopped() const { return is_past_deadline() || impl.cancel_requested; }

  /// A keepalive was just sent (or was sent earlier this second): it starts the peer's clock
  /// unless an older one is still unanswered.
  void note_probe(Clock::time_point now) {
    if (!probe_sent || impl.link.last_input >= *probe_sent) probe_sent = now;
  }
  /// When a peer that stays silent from now on is taken for gone: keepalives are answered at
  /// once, so a keepalive unanswered for two intervals means a vanished host (+1 s: libssh2
  /// counts seconds). Only time since a keepalive left counts, so a controller that could not
  /// send or read for a while (its loop starved, the process stopped) does not blame the host.
  std::optional<Clock::time_point> silence_limit() const {
    if (impl.keepalive.count() == 0 || !probe_sent) return std::nullopt;
    if (impl.link.last_input >= *probe_sent) return std::nullopt;  // answered
    return *probe_sent + 2 * impl.keepalive + std::chrono::seconds(1);
  }
  /// True when the peer left a keepalive unanswered for too long. Bytes waiting unread in the
  /// socket are an answer that our own late loop has not read yet, not silence.
  bool is_peer_silent() {
    const auto limit = silence_limit();
    if (!limit || Clock::now() < *limit) return false;
    if (!impl.link.has_unread_input()) return true;
    impl.link.last_input = Clock::now();
    return false;
  }

  /// Wakes the waiting libssh2 call at the deadline, or also when a keepalive is due and when
  /// the peer's silence would become too long.
  void arm(bool with_keepalive = true) {
    std::optional<Clock::time_point> when = deadline;
    auto sooner = [&when](std::optional<Clock::time_point> other) {
      if (other && (!when || *other < *when)) when = other;
    };
    if (with_keepalive) {
      sooner(next_keepalive);
      sooner(silence_limit());
    }
    alarm_time = when;
    if (!when) return alarm.disarm();
    alarm.arm(*when, [&link = impl.link] { link.wake(); });
  }
  /// After a wake-up: how late our own loop was for the alarm.
  void measure_lag() {
    if (alarm_time) loop_lag = std::max(loop_lag, Clock::now() - *alarm_time);
  }

  /// The outcome of a command we stopped waiting for: timed out, or cancelled.
  ExecOutcome stopped() const {
    ExecOutcome outcome;
    (impl.cancel_requested ? outcome.cancelled : outcome.timed_out) = true;
    return outcome;
  }
};

ExecOutcome failed(std::string error) { return ExecOutcome{{}, {}, false, std::move(error)}; }

/// Marks the session unusable and shuts its socket down; the command's outcome is `outcome`.
ExecOutcome drop_session(Exec& exec, std::string why, ExecOutcome outcome) {
  exec.impl.broken = std::move(why);
  exec.link().abort();
  return outcome;
}

/// Sends a keepalive if one is due; only called between libssh2 operations (never mid-packet).
awaitable<int> send_keepalive(Exec& exec) {
  int seconds_to_next = 0;
  Link& link = exec.link();
  const int rc =
      co_await call(link, [&] { return libssh2_keepalive_send(link.session, &seconds_to_next); });
  if (rc == 0 && seconds_to_next > 0) {
    const auto now = Clock::now();
    exec.next_keepalive = now + std::chrono::seconds(seconds_to_next);
    if (std::chrono::seconds(seconds_to_next) == exec.impl.keepalive) exec.note_probe(now);
  }
  co_return rc;
}

/// call() that keeps the session alive meanwhile: a wake-up before the deadline sends the
/// keepalive that is due and repeats the same call. Returns kInterrupted at the deadline or on
/// cancel, kPeerSilent when keepalives go unanswered.
template <class Fn>
awaitable<ssize_t> call_keeping_alive(Exec& exec, Fn fn) {
  for (;;) {
    const ssize_t n = co_await call(exec.link(), fn);
    if (n != kInterrupted) co_return n;
    exec.link().interrupt = false;
    exec.measure_lag();
    if (exec.is_stopped()) co_return kInterrupted;
    if (exec.is_peer_silent()) co_return kPeerSilent;
    const int rc = co_await send_keepalive(exec);
    if (rc != 0) co_return rc;
    exec.arm();
  }
}

/// One read buffer for every session of the thread, instead of 32 KiB per host (a third of a
/// connected host's memory): a packet is read and handed to on_output with no suspension in
/// between, so no other session can write here before it is used.
std::span<char> shared_read_buffer() {
  thread_local std::array<char, 32 * 1024> buffer{};  // one channel packet at most (32 KiB)
  return buffer;
}

/// Reads whichever of stdout and stderr has data, in one loop: the window only reopens as we
/// read, so an unread stderr would stall stdout (docs/ssh-notes.md, "Read stdout and stderr
/// together"). Returns 0 once both are at EOF, kInterrupted at the deadline, or a libssh2 error.
awaitable<ssize_t> pump_output(Exec& exec) {
  std::array<bool, 2> is_done{false, false};
  const std::span<char> buffer = shared_read_buffer();
  auto read_either = [&]() -> ssize_t {
    bool may_come = false;  // a read would block: more may arrive
    for (int id = 0; id < 2; ++id) {
      if (is_done[id]) continue;
      const ssize_t n = libssh2_channel_read_ex(exec.channel, id, buffer.data(), buffer.size());
      if (n > 0) {
        if (exec.spec.on_output) {
          exec.spec.on_output(id == 0 ? Stream::Stdout : Stream::Stderr,
                              std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        }
        return n;
      }
      // 0 is EOF only if libssh2 agrees no data of this channel is still queued.
      if (n == 0 && libssh2_channel_eof(exec.channel) == 1) is_done[id] = true;
      if (n < 0 && !would_block(exec.link().session, n)) return n;
      may_come = may_come || n < 0;
    }
    if (is_done[0] && is_done[1]) return 0;
    // Both reads said end (0, not EAGAIN) while libssh2_channel_eof() still sees packets of this
    // channel it will never hand out (a hostile server's data after its CLOSE): nothing more
    // comes, and waiting for input would hang for ever (hostile_test.py, data_after_close).
    return may_come ? kWouldBlock : 0;
  };
  for (;;) {
    const ssize_t n = co_await call_keeping_alive(exec, read_either);
    if (n <= 0) co_return n;  // 0: both streams at EOF
  }
}

/// Calls `fn` once more without waiting for input: what to do with a channel whose close the
/// server confirms only when its command ends. Outgoing packets are still finished (wait.hpp).
template <class Fn>
awaitable<int> call_without_waiting(Link& link, Fn fn) {
  link.interrupt = true;
  const int rc = co_await call(link, fn);
  link.interrupt = false;
  co_return rc;
}

/// After the deadline or a cancel: send the channel's CLOSE and leave the command to the server
/// (the engine stops its process group). sshd confirms the close only when the command ends,
/// so the channel is set aside and freed by a later reap_abandoned(); the session goes on.
awaitable<ExecOutcome> abandon_command(Exec& exec) {
  const ExecOutcome timed_out = exec.stopped();
  Link& link = exec.link();
  exec.alarm.disarm();
  LIBSSH2_CHANNEL* channel = exec.channel;
  int rc = co_await call_without_waiting(link, [&] { return libssh2_channel_close(channel); });
  if (rc == 0) rc = co_await call(link, [&] { return libssh2_channel_free(channel); });
  if (rc == kInterrupted) {
    exec.impl.abandoned.push_back(channel);
    rc = 0;
  }
  if (rc != 0) {
    co_return drop_session(exec, describe(link.session, rc, "connection lost during command"),
                           timed_out);
  }
  co_return timed_out;
}

/// The peer stopped answering keepalives: the session is dropped, the command's fate unknown.
ExecOutcome peer_gone(Exec& exec) {
  std::string error = "no answer from the host for " +
                      base::duration_text(2 * exec.impl.keepalive) + " (keepalive every " +
                      base::duration_text(exec.impl.keepalive) + "): connection lost";
  // Our own lateness does not excuse the host (its answer would be waiting in the socket), but
  // it tells the operator that the controller was overloaded too.
  if (exec.loop_lag >= std::chrono::seconds(1))
    error += " (deployd itself was up to " + base::elapsed_text(exec.loop_lag) + " late)";
  return drop_session(exec, error, failed(error));
}

/// After EOF: wait for the server to close the channel, then read how the command ended.
awaitable<ExecOutcome> finish_command(Exec& exec) {
  Link& link = exec.link();
  // A command may close its output and run on: the wait keeps the session alive until the deadline.
  int rc = static_cast<int>(
      co_await call_keeping_alive(exec, [&] { return libssh2_channel_wait_closed(exec.channel); }));
  if (rc == kInterrupted) co_return co_await abandon_command(exec);
  if (rc == kPeerSilent) co_return peer_gone(exec);
  ExecOutcome outcome;
  char* signal = nullptr;
  std::size_t length = 0;
  libssh2_channel_get_exit_signal(exec.channel, &signal, &length, nullptr, nullptr, nullptr,
                                  nullptr);
  if (signal != nullptr) {
    outcome.exit_signal.assign(signal, length);
    libssh2_free(link.session, signal);
  } else {
    outcome.exit_status = libssh2_channel_get_exit_status(exec.channel);
  }
  if (rc == 0) rc = co_await call(link, [&] { return libssh2_channel_free(exec.channel); });
  if (rc != 0) {
    const std::string error = describe(link.session, rc, "connection lost during command");
    co_return drop_session(exec, error, failed(error));
  }
  co_return outcome;
}

/// Writes the command's stdin (the script of `sh -s`) and closes it, right after the exec
/// request, before its reply; the first output is read next. EOF is always sent, as
/// `ssh -n` does, so a command that reads stdin ends instead of hanging until its timeout. A
/// command that ended without reading it all (sudo refused) closed the channel: not an error.
awaitable<int> send_input(Exec& exec) {
  Link& link = exec.link();
  std::string_view rest = exec.spec.input;
  while (!rest.empty()) {
    const ssize_t n = co_await call(link, [&] {
      return libssh2_channel_write_ex(exec.channel, 0, rest.data(), rest.size());
    });
    if (n == LIBSSH2_ERROR_CHANNEL_CLOSED || n == LIBSSH2_ERROR_CHANNEL_EOF_SENT) co_return 0;
    if (n < 0) co_return static_cast<int>(n);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  const int rc = co_await call(link, [&] { return libssh2_channel_send_eof(exec.channel); });
  co_return rc == LIBSSH2_ERROR_CHANNEL_CLOSED ? 0 : rc;
}

/// What start_command returns when the server leaves the channel open, the exec request or the
/// window for stdin unanswered for too long.
constexpr int kNotConfirmed = -1002;

/// How long the server may take to confirm the channel and the exec and to take the script:
/// two keepalive intervals (+1 s), as for a silent peer. A broken or hostile server that never
/// confirms a channel must not hold the host for ever, however alive it looks.
std::optional<Clock::time_point> confirm_limit(const Exec& exec) {
  if (exec.impl.keepalive.count() == 0) return std::nullopt;
  return Clock::now() + 2 * exec.impl.keepalive + std::chrono::seconds(1);
}

/// The session channel's open request; the same arguments every time, as libssh2 completes an
/// open sent ahead only when called again with them.
LIBSSH2_CHANNEL* open_session_channel(LIBSSH2_SESSION* session) {
  return libssh2_channel_open_ex(session, "session", sizeof "session" - 1, kWindow,
                                 LIBSSH2_CHANNEL_PACKET_DEFAULT, nullptr, 0);
}

/// Sends the next command's CHANNEL_OPEN now, without waiting for its confirmation, which the
/// reads of the current command queue in libssh2 meanwhile: the next step starts with its exec
/// request. Not while abandoned commands hold channels (the server's MaxSessions, 10 on stock
/// sshd, counts them).
awaitable<void> open_ahead(Session::Impl& impl) {
  // A lane's open ahead would be completed by whichever lane opens next (libssh2 keeps one
  // open per session): lanes open their own channel when their command starts.
  if (impl.open_ahead || impl.spare != nullptr || !impl.abandoned.empty() || impl.link.main)
    co_return;
  Link& link = impl.link;
  const bool was_interrupted = std::exchange(link.interrupt, true);  // send, do not wait
  LIBSSH2_CHANNEL* channel = co_await call(link, [&] { return open_session_channel(link.session); });
  link.interrupt = was_interrupted;
  impl.spare = channel;
  impl.open_ahead =
      channel == nullptr && libssh2_session_last_errno(link.session) == LIBSSH2_ERROR_EAGAIN;
}

/// A lane's channel, opened when no other lane's open is in progress (libssh2 keeps the state
/// of one open per session, LaneHub). A host that refuses it while other lanes hold channels
/// has reached its MaxSessions: the lane waits for one of them to end, then asks again.
awaitable<LIBSSH2_CHANNEL*> open_lane_channel(Link& link) {
  LaneHub& hub = *link.main->hub;
  for (;;) {
    co_await hub.wait_until_clear(link, /*open=*/true);
    hub.is_opening = true;
    LIBSSH2_CHANNEL* channel =
        co_await call(link, [&] { return open_session_channel(link.session); });
    // Interrupted (the deadline), the open is still pending in libssh2: run_exec drops the
    // session, and no other lane may start one meanwhile.
    if (channel == nullptr && link.interrupt) {
      hub.pending_open = &link;
      co_return nullptr;
    }
    hub.is_opening = false;
    hub.changed.cancel();
    if (channel != nullptr) {
      ++hub.channels;
      link.holds_channel = true;
      co_return channel;
    }
    const int refused = libssh2_session_last_errno(link.session);
    if (refused != LIBSSH2_ERROR_CHANNEL_FAILURE || hub.channels == 0) co_return nullptr;
    co_await hub.wait_for_fewer(link, hub.channels);
    if (link.interrupt || hub.is_aborted) co_return nullptr;  // nothing pending in libssh2
  }
}

/// The command's channel: the one opened ahead, else a new one. An open sent ahead that the
/// server refused (its MaxSessions reached meanwhile) or that libssh2 gave up on (it waits 60 s
/// at most from the first try) is tried once more, now.
awaitable<LIBSSH2_CHANNEL*> open_channel(Session::Impl& impl) {
  if (impl.spare != nullptr) co_return std::exchange(impl.spare, nullptr);
  Link& link = impl.link;
  if (link.main != nullptr) co_return co_await open_lane_channel(link);
  const bool was_ahead = std::exchange(impl.open_ahead, false);
  auto open = [&] { return open_session_channel(link.session); };
  LIBSSH2_CHANNEL* channel = co_await call(link, open);
  if (channel == nullptr && was_ahead && !link.interrupt) channel = co_await call(link, open);
  co_return channel;
}

/// start_command's steps, woken at the deadline or the confirmation limit.
awaitable<int> open_and_start(Exec& exec) {
  Link& link = exec.link();
  std::optional<Clock::time_point> wake = confirm_limit(exec);
  if (exec.deadline && (!wake || *exec.deadline < *wake)) wake = exec.deadline;
  if (wake) exec.alarm.arm(*wake, [&link] { link.wake(); });
  exec.channel = co_await open_channel(exec.impl);
  if (exec.channel == nullptr) {
    const int error = libssh2_session_last_errno(link.session);
    co_return link.interrupt ? kInterrupted : error != 0 ? error : LIBSSH2_ERROR_CHANNEL_FAILURE;
  }
  exec.opened = Clock::now();
  // Both 40 ms stalls are behind us once a channel is open (docs/ssh-notes.md, "Delayed ACK
  // stalls"); measured: keeping TCP_QUICKACK on changes nothing for later execs, and costs a
  // syscall per libssh2 call.
  link.quickack = false;
  const std::string& command = exec.spec.command;
  auto startup = [&] {
    return libssh2_channel_process_startup(exec.channel, "exec", sizeof "exec" - 1, command.data(),
                                           static_cast<unsigned>(command.size()));
  };
  // Stdin follows the exec request at once, before its reply is read: the EOF of a command with
  // no input adds no round trip. (Data waits anyway: sshd opens a session channel with a window
  // of 0 and opens it with the exec's reply.) So the request is only sent here, whole.
  int startup_rc = LIBSSH2_ERROR_EAGAIN;
  const int sent = co_await call(link, [&] {
    startup_rc = startup();
    if (startup_rc != LIBSSH2_ERROR_EAGAIN) return 0;
    const int directions = libssh2_session_block_directions(link.session);
    return (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0 ? LIBSSH2_ERROR_EAGAIN : 0;
  });
  if (sent != 0) co_return sent;
  if (startup_rc != LIBSSH2_ERROR_EAGAIN && startup_rc != 0) co_return startup_rc;
  if (const int rc = co_await send_input(exec); rc != 0) co_return rc;
  co_await open_ahead(exec.impl);  // in the same flight as the exec request
  if (startup_rc == LIBSSH2_ERROR_EAGAIN) startup_rc = co_await call(link, startup);  // the reply
  co_return startup_rc;
}

/// Opens a session channel and starts the command on it.
awaitable<int> start_command(Exec& exec) {
  const int rc = co_await open_and_start(exec);
  if (rc != kInterrupted || exec.is_stopped()) co_return rc;
  exec.link().interrupt = false;
  co_return kNotConfirmed;
}

/// `-v`: how long each part of one command took, from which round trips can be counted.
void log_exec_phases(const Exec& exec, Clock::time_point started, Clock::time_point running,
                     Clock::time_point eof) {
  const Clock::time_point now = Clock::now();
  debug_log(exec.impl.name + ": exec: channel open " + format_phase(exec.opened - started) +
            ", exec request " + format_phase(running - exec.opened) + ", output to EOF " +
            format_phase(eof - running) + ", close " + format_phase(now - eof));
}

}  // namespace

awaitable<void> settle_open_ahead(Session::Impl& impl) {
  if (!impl.open_ahead) co_return;
  Link& link = impl.link;
  impl.spare = co_await call(link, [&] { return open_session_channel(link.session); });
  // Interrupted (a cancel), the open is still pending in libssh2; otherwise it ended.
  impl.open_ahead = impl.spare == nullptr && link.interrupt;
}

awaitable<void> reap_abandoned(Session::Impl& impl) {
  auto& channels = impl.abandoned;
  for (auto channel = channels.begin(); channel != channels.end() && impl.broken.empty();) {
    const int rc = co_await call_without_waiting(
        impl.link, [channel = *channel] { return libssh2_channel_free(channel); });
    if (rc == kInterrupted) {
      ++channel;  // its command still runs
    } else if (rc == 0) {
      channel = channels.erase(channel);
    } else {
      impl.broken = describe(impl.link.session, rc, "connection lost");
      impl.link.abort();
    }
  }
}

awaitable<ExecOutcome> run_exec(Session::Impl& impl, const ExecSpec& spec) {
  if (!impl.abandoned.empty()) co_await reap_abandoned(impl);
  if (!impl.broken.empty()) co_return failed("the connection is unusable: " + impl.broken);
  // g++ 12 destroys aggregate temporaries in co_await expressions twice: keep co_await out of
  // braced initialisers.
  const auto executor = co_await boost::asio::this_coro::executor;
  Exec exec{impl, spec, Alarm(executor)};
  Link& link = impl.link;
  link.interrupt = false;
  const Clock::time_point started = Clock::now();
  if (spec.timeout) exec.deadline = started + *spec.timeout;
  int rc = co_await send_keepalive(exec);  // a session idle between steps may owe one
  exec.arm(/*with_keepalive=*/false);      // opening a channel is quick: only the deadline
  if (rc == 0) rc = co_await start_command(exec);
  if (rc == kNotConfirmed) {
    const std::string error = "the host did not confirm the command's channel within " +
                              base::duration_text(2 * impl.keepalive + std::chrono::seconds(1)) +
                              " (two keepalive intervals): connection dropped";
    co_return drop_session(exec, error, failed(error));
  }
  if (rc == kInterrupted) {
    link.interrupt = false;
    // A lane stopped while it waited for a channel: nothing of it is half-done in libssh2.
    if (link.main != nullptr && exec.channel == nullptr && link.main->hub->pending_open != &link)
      co_return exec.stopped();
    // The deadline passed (or a cancel came) before the command ran: the channel's state is
    // unknown.
    co_return drop_session(exec, "a command was stopped before it started", exec.stopped());
  }
  if (rc != 0 && link.main != nullptr && exec.channel == nullptr &&
      rc == LIBSSH2_ERROR_CHANNEL_FAILURE) {
    // The host refused a lane its first channel: this command fails, the session goes on.
    co_return failed(describe(link.session, rc, "cannot start command"));
  }
  if (rc != 0) {
    const std::string error = describe(
        link.session, rc,
        is_connection_error(rc) ? "connection lost during command" : "cannot start command");
    co_return drop_session(exec, error, failed(error));
  }
  exec.arm();
  const Clock::time_point running = Clock::now();
  const ssize_t end = co_await pump_output(exec);
  if (end == kInterrupted) co_return co_await abandon_command(exec);
  if (end == kPeerSilent) co_return peer_gone(exec);
  if (end != 0) {
    const std::string error =
        describe(link.session, static_cast<int>(end), "connection lost during command");
    co_return drop_session(exec, error, failed(error));
  }
  const Clock::time_point eof = Clock::now();
  ExecOutcome outcome = co_await finish_command(exec);
  if (is_debug_logging()) log_exec_phases(exec, started, running, eof);
  co_return outcome;
}

}  // namespace deployd::ssh
