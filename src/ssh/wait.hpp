// SPDX-License-Identifier: MIT
// The libssh2 <-> Asio bridge: repeat a non-blocking libssh2 call until it stops asking to wait.
#pragma once

#include <libssh2.h>

#include <type_traits>

#include "async/awaitable.hpp"
#include "ssh/link.hpp"

namespace deployd::ssh {

/// What call() returns for an integer call interrupted by Link::wake(); libssh2's own codes stop
/// around -50. Pointer calls return nullptr and leave Link::interrupt set.
inline constexpr int kInterrupted = -1000;

/// What a compound call (several libssh2 calls in one function) returns when all of them would
/// block, so that call() waits and repeats it.
inline constexpr int kWouldBlock = LIBSSH2_ERROR_EAGAIN;

/// True if `result` of a libssh2 call on `session` means "would block, call again".
template <class R>
bool would_block(LIBSSH2_SESSION* session, R result) {
  if constexpr (std::is_pointer_v<R>) {
    return result == nullptr && libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN;
  } else {
    return result == LIBSSH2_ERROR_EAGAIN;
  }
}

/// Calls `fn` (one libssh2 call, or a compound returning kWouldBlock) until it does not block,
/// waiting between tries for what libssh2_session_block_directions asks: after EAGAIN the SAME
/// call must be repeated (docs/ssh-notes.md, "EAGAIN: repeat the same call"). Link::wake() makes
/// it return kInterrupted (nullptr), but only while libssh2 waits for input: a half-sent packet is
/// always finished first, as any other sending call would fail with LIBSSH2_ERROR_BAD_USE.
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&>> call(Link& link, Fn fn) {
  using Result = std::invoke_result_t<Fn&>;
  for (;;) {
    if (link.main != nullptr) co_await link.wait_turn();
    const std::uint64_t inputs_before = link.inputs();
    Result result = fn();
    link.rearm_quickack();
    const bool is_blocked = would_block(link.session, result);
    if (link.main != nullptr) link.after_call(inputs_before, is_blocked);
    if (!is_blocked) co_return result;
    const int directions = libssh2_session_block_directions(link.session);
    if (link.interrupt && (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) == 0) {
      if constexpr (std::is_pointer_v<Result>) {
        co_return nullptr;
      } else {
        co_return static_cast<Result>(kInterrupted);
      }
    }
    co_await link.wait_ready(directions);
  }
}

}  // namespace deployd::ssh
