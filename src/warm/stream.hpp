// SPDX-License-Identifier: MIT
// Frames over a Unix stream socket, for both ends: a reader, and an outbox that writes in order
// without making the sender wait (an output chunk is queued from a libssh2 callback).
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <optional>
#include <string>

#include "async/awaitable.hpp"
#include "warm/protocol.hpp"

namespace deployd::warm {

using UnixSocket = boost::asio::local::stream_protocol::socket;

/// Reads frames from one socket.
class FrameReader {
 public:
  /// The next frame; nullopt at the end of the stream, on an error, or on a frame not ours.
  boost::asio::awaitable<std::optional<Frame>> next(UnixSocket& socket);

 private:
  FrameDecoder decoder_;
};

/// Frames waiting to be written to one socket, written in order by one coroutine at a time.
/// Held by shared_ptr: the writing coroutine keeps it (and the socket) alive.
class Outbox : public std::enable_shared_from_this<Outbox> {
 public:
  explicit Outbox(std::shared_ptr<UnixSocket> socket) : socket_(std::move(socket)) {}
  /// Queues a frame; a failed socket drops it.
  void send(FrameType type, std::string_view payload);
  bool has_failed() const { return has_failed_; }
  /// Waits until everything queued is written (or the socket failed).
  boost::asio::awaitable<void> drain();

 private:
  boost::asio::awaitable<void> flush();

  std::shared_ptr<UnixSocket> socket_;
  std::string pending_;
  bool is_writing_ = false;
  bool has_failed_ = false;
};

}  // namespace deployd::warm
