// SPDX-License-Identifier: MIT
// The messages between a run and `deployd serve` over the user's Unix socket: length-prefixed
// frames, each a type byte and fields written in order (no JSON: the bytes of a command's output
// pass through untouched, and a frame costs a few copies).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ssh/connection_spec.hpp"

namespace deployd::warm {

/// Bumped when a message changes: a daemon of another version answers Fallback.
inline constexpr std::uint32_t kProtocolVersion = 1;
/// The largest frame either side accepts (a command's script, an output chunk, a status).
inline constexpr std::uint32_t kMaxFrame = 16u << 20;

enum class FrameType : std::uint8_t {
  Hello = 1,     ///< client: version, the host's ConnectionSpec (password and passphrase unset)
  Connected,     ///< daemon: a session is lent (u8 reused, u32 the daemon's umask)
  Failed,        ///< daemon: the connection failed (failure, error, transient), as a direct one
  Fallback,      ///< daemon: it cannot serve this host; the client connects directly (why)
  Exec,          ///< client: command, input, timeout
  Output,        ///< daemon: stream (0 stdout, 1 stderr), bytes
  ExecDone,      ///< daemon: how the command ended
  Cancel,        ///< client: stop waiting for the command in flight
  Status,        ///< client: what is warm?
  StatusReply,   ///< daemon: the text of `deployd serve --status`
  Stop,          ///< client: close every session and exit
  Put,           ///< client: a `put` (engine::PutRequest's fields, the local path absolute)
  Progress,      ///< daemon: bytes done, total
  TransferDone,  ///< daemon: bytes, unchanged, error, connection lost
  Get,           ///< client: a `get` (engine::GetRequest's fields, the local path absolute)
};

struct Frame {
  FrameType type = FrameType::Hello;
  std::string payload;
};

/// `[u32 big-endian length of type + payload][u8 type][payload]`.
std::string encode_frame(FrameType type, std::string_view payload);

/// Cuts frames out of a byte stream that arrives in pieces of any size.
class FrameDecoder {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  /// The next whole frame, or nullopt (wait for more bytes, or see error()).
  std::optional<Frame> next();
  /// Set once the stream is not ours (a frame larger than kMaxFrame, or empty): stop reading.
  const std::string& error() const { return error_; }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::string error_;
};

/// Writes fields: integers big-endian, strings as u32 length + bytes.
class FieldWriter {
 public:
  FieldWriter& u8(std::uint8_t value);
  FieldWriter& u32(std::uint32_t value);
  FieldWriter& u64(std::uint64_t value);
  FieldWriter& text(std::string_view value);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// Reads fields in the order they were written; a short payload sets !ok() and reads zeros.
class FieldReader {
 public:
  explicit FieldReader(std::string_view in) : in_(in) {}
  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  std::string text();
  /// Every field read and nothing left over.
  bool ok() const { return ok_ && in_.empty(); }

 private:
  bool take(std::size_t size, std::string_view& out);
  std::string_view in_;
  bool ok_ = true;
};

/// Hello: the protocol version and what to connect to.
std::string encode_hello(const ssh::ConnectionSpec& spec);
/// nullopt if the payload is malformed; `version` gets the client's version even then.
std::optional<ssh::ConnectionSpec> decode_hello(std::string_view payload, std::uint32_t& version);

struct ExecMessage {
  std::string command;
  std::string input;
  std::optional<std::chrono::milliseconds> timeout;
};
std::string encode_exec(const ExecMessage& message);
std::optional<ExecMessage> decode_exec(std::string_view payload);

/// How a command ended (ssh::ExecOutcome's fields).
struct ExecEnd {
  std::optional<int> exit_status;
  std::string exit_signal;
  bool timed_out = false;
  std::string error;
  bool cancelled = false;
};
std::string encode_exec_done(const ExecEnd& end);
std::optional<ExecEnd> decode_exec_done(std::string_view payload);

/// Failed: the ssh::ConnectFailure number, the error, whether it may pass if tried again.
struct ConnectError {
  std::uint8_t failure = 0;
  std::string error;
  bool transient = false;
};
std::string encode_failed(const ConnectError& failed);
std::optional<ConnectError> decode_failed(std::string_view payload);

/// A `put` for the daemon: engine::PutRequest without its callback.
struct PutMessage {
  std::string local_path;  ///< absolute: the daemon's working folder is not the run's
  std::string remote_path;
  std::optional<unsigned> mode;
  std::string temp_tag;
  std::optional<std::string> sudo_user;
  std::string owner;
  std::string group;
  bool recursive = false;
};
std::string encode_put(const PutMessage& message);
std::optional<PutMessage> decode_put(std::string_view payload);

/// A `get` for the daemon: engine::GetRequest without its callback. Sent only when the daemon's
/// umask is the run's (the fetched files' modes depend on it).
struct GetMessage {
  std::string remote_path;
  std::string local_path;  ///< absolute
  std::string temp_tag;
  std::optional<unsigned> mode;
  std::optional<std::uint64_t> max_size;
  std::optional<std::string> sudo_user;
  bool recursive = false;
};
std::string encode_get(const GetMessage& message);
std::optional<GetMessage> decode_get(std::string_view payload);

/// How a transfer ended (engine::TransferResult's fields).
struct TransferEnd {
  std::uint64_t bytes = 0;
  bool unchanged = false;
  std::string error;
  bool connection_lost = false;
};
std::string encode_transfer_done(const TransferEnd& end);
std::optional<TransferEnd> decode_transfer_done(std::string_view payload);

}  // namespace deployd::warm
