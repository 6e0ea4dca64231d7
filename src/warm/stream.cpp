// SPDX-License-Identifier: MIT
// Frames over a Unix stream socket (see stream.hpp).
#include "warm/stream.hpp"

#include <array>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include "async/awaitable.hpp"

namespace deployd::warm {

namespace asio = boost::asio;

asio::awaitable<std::optional<Frame>> FrameReader::next(UnixSocket& socket) {
  std::array<char, 16 * 1024> buffer;  // on the coroutine frame while it waits: 500 hosts, 8 MiB
  for (;;) {
    if (std::optional<Frame> frame = decoder_.next()) co_return frame;
    if (!decoder_.error().empty()) co_return std::nullopt;
    boost::system::error_code ec;
    const std::size_t got = co_await socket.async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || got == 0) co_return std::nullopt;
    decoder_.feed(std::string_view(buffer.data(), got));
  }
}

void Outbox::send(FrameType type, std::string_view payload) {
  if (has_failed_) return;
  pending_ += encode_frame(type, payload);
  if (is_writing_) return;
  is_writing_ = true;
  asio::co_spawn(
      socket_->get_executor(), [self = shared_from_this()] { return self->flush(); },
      asio::detached);
}

asio::awaitable<void> Outbox::flush() {
  while (!pending_.empty() && !has_failed_) {
    std::string writing = std::exchange(pending_, {});
    boost::system::error_code ec;
    co_await asio::async_write(*socket_, asio::buffer(writing),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) has_failed_ = true;
  }
  pending_.clear();
  is_writing_ = false;
}

asio::awaitable<void> Outbox::drain() {
  // Rarely waited for (before closing): polling the writer keeps the outbox a plain queue.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (is_writing_ && !has_failed_) {
    timer.expires_after(std::chrono::milliseconds(1));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace deployd::warm
