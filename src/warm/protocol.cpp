// SPDX-License-Identifier: MIT
// Frames and fields of the warm session protocol (see protocol.hpp).
#include "warm/protocol.hpp"

#include <algorithm>

namespace deployd::warm {

std::string encode_frame(FrameType type, std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size() + 1);
  std::string frame = FieldWriter().u32(length).u8(static_cast<std::uint8_t>(type)).take();
  frame.append(payload);
  return frame;
}

std::optional<Frame> FrameDecoder::next() {
  if (!error_.empty()) return std::nullopt;
  const std::size_t available = buffer_.size() - start_;
  if (available < 4) return std::nullopt;
  FieldReader header(std::string_view(buffer_).substr(start_, 4));
  const std::uint32_t length = header.u32();
  if (length == 0 || length > kMaxFrame) {
    error_ = "a frame of " + std::to_string(length) + " bytes (the most is " +
             std::to_string(kMaxFrame) + "): not a deployd serve stream";
    return std::nullopt;
  }
  if (available < 4 + static_cast<std::size_t>(length)) return std::nullopt;
  Frame frame;
  frame.type = static_cast<FrameType>(static_cast<unsigned char>(buffer_[start_ + 4]));
  frame.payload = buffer_.substr(start_ + 5, length - 1);
  start_ += 4 + length;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > (1u << 16) && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);  // the consumed head, once it is most of the buffer
    start_ = 0;
  }
  return frame;
}

FieldWriter& FieldWriter::u8(std::uint8_t value) {
  out_ += static_cast<char>(value);
  return *this;
}

FieldWriter& FieldWriter::u32(std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out_ += static_cast<char>((value >> shift) & 0xff);
  return *this;
}

FieldWriter& FieldWriter::u64(std::uint64_t value) {
  u32(static_cast<std::uint32_t>(value >> 32));
  return u32(static_cast<std::uint32_t>(value));
}

FieldWriter& FieldWriter::text(std::string_view value) {
  u32(static_cast<std::uint32_t>(value.size()));
  out_.append(value);
  return *this;
}

bool FieldReader::take(std::size_t size, std::string_view& out) {
  if (!ok_ || in_.size() < size) {
    ok_ = false;
    return false;
  }
  out = in_.substr(0, size);
  in_.remove_prefix(size);
  return true;
}

std::uint8_t FieldReader::u8() {
  std::string_view bytes;
  return take(1, bytes) ? static_cast<std::uint8_t>(bytes[0]) : 0;
}

std::uint32_t FieldReader::u32() {
  std::string_view bytes;
  if (!take(4, bytes)) return 0;
  std::uint32_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
  return value;
}

std::uint64_t FieldReader::u64() {
  const std::uint64_t high = u32();
  return (high << 32) | u32();
}

std::string FieldReader::text() {
  const std::uint32_t size = u32();
  std::string_view bytes;
  return take(size, bytes) ? std::string(bytes) : std::string();
}

namespace {

std::uint64_t millis(std::chrono::milliseconds value) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, value.count()));
}

}  // namespace

std::string encode_hello(const ssh::ConnectionSpec& spec) {
  FieldWriter out;
  out.u32(kProtocolVersion)
      .text(spec.name)
      .text(spec.address)
      .u32(static_cast<std::uint32_t>(spec.port))
      .text(spec.user)
      .u32(static_cast<std::uint32_t>(spec.identities.size()));
  for (const std::string& identity : spec.identities) out.text(identity);
  out.u8(spec.identities_only ? 1 : 0)
      .text(spec.known_hosts)
      .u8(static_cast<std::uint8_t>(spec.host_key_check))
      .u64(millis(spec.connect_timeout))
      .u64(millis(spec.keepalive));
  return out.take();
}

std::optional<ssh::ConnectionSpec> decode_hello(std::string_view payload, std::uint32_t& version) {
  FieldReader in(payload);
  version = in.u32();
  if (version != kProtocolVersion) return std::nullopt;
  ssh::ConnectionSpec spec;
  spec.name = in.text();
  spec.address = in.text();
  spec.port = static_cast<int>(in.u32());
  spec.user = in.text();
  const std::uint32_t identities = in.u32();
  for (std::uint32_t i = 0; i < identities && i < 64; ++i) spec.identities.push_back(in.text());
  spec.identities_only = in.u8() != 0;
  spec.known_hosts = in.text();
  const std::uint8_t check = in.u8();
  spec.connect_timeout = std::chrono::milliseconds(in.u64());
  spec.keepalive = std::chrono::milliseconds(in.u64());
  if (!in.ok() || identities > 64 || check > 2 || spec.port <= 0 || spec.port > 65535)
    return std::nullopt;
  spec.host_key_check = static_cast<ssh::HostKeyCheck>(check);
  return spec;
}

std::string encode_exec(const ExecMessage& message) {
  return FieldWriter()
      .text(message.command)
      .text(message.input)
      .u8(message.timeout ? 1 : 0)
      .u64(message.timeout ? millis(*message.timeout) : 0)
      .take();
}

std::optional<ExecMessage> decode_exec(std::string_view payload) {
  FieldReader in(payload);
  ExecMessage message;
  message.command = in.text();
  message.input = in.text();
  const bool has_timeout = in.u8() != 0;
  const std::uint64_t timeout = in.u64();
  if (has_timeout) message.timeout = std::chrono::milliseconds(timeout);
  if (!in.ok()) return std::nullopt;
  return message;
}

std::string encode_exec_done(const ExecEnd& end) {
  return FieldWriter()
      .u8(end.exit_status ? 1 : 0)
      .u32(static_cast<std::uint32_t>(end.exit_status.value_or(0)))
      .text(end.exit_signal)
      .u8(end.timed_out ? 1 : 0)
      .text(end.error)
      .u8(end.cancelled ? 1 : 0)
      .take();
}

std::optional<ExecEnd> decode_exec_done(std::string_view payload) {
  FieldReader in(payload);
  ExecEnd end;
  const bool has_status = in.u8() != 0;
  const auto status = static_cast<int>(in.u32());
  if (has_status) end.exit_status = status;
  end.exit_signal = in.text();
  end.timed_out = in.u8() != 0;
  end.error = in.text();
  end.cancelled = in.u8() != 0;
  if (!in.ok()) return std::nullopt;
  return end;
}

std::string encode_failed(const ConnectError& failed) {
  return FieldWriter().u8(failed.failure).text(failed.error).u8(failed.transient ? 1 : 0).take();
}

std::optional<ConnectError> decode_failed(std::string_view payload) {
  FieldReader in(payload);
  ConnectError failed;
  failed.failure = in.u8();
  failed.error = in.text();
  failed.transient = in.u8() != 0;
  if (!in.ok()) return std::nullopt;
  return failed;
}

std::string encode_put(const PutMessage& message) {
  return FieldWriter()
      .text(message.local_path)
      .text(message.remote_path)
      .u8(message.mode ? 1 : 0)
      .u32(message.mode.value_or(0))
      .text(message.temp_tag)
      .u8(message.sudo_user ? 1 : 0)
      .text(message.sudo_user.value_or(""))
      .text(message.owner)
      .text(message.group)
      .u8(message.recursive ? 1 : 0)
      .take();
}

std::optional<PutMessage> decode_put(std::string_view payload) {
  FieldReader in(payload);
  PutMessage message;
  message.local_path = in.text();
  message.remote_path = in.text();
  const bool has_mode = in.u8() != 0;
  const std::uint32_t mode = in.u32();
  if (has_mode) message.mode = mode;
  message.temp_tag = in.text();
  const bool has_sudo = in.u8() != 0;
  std::string sudo_user = in.text();
  if (has_sudo) message.sudo_user = std::move(sudo_user);
  message.owner = in.text();
  message.group = in.text();
  message.recursive = in.u8() != 0;
  if (!in.ok() || !message.local_path.starts_with('/')) return std::nullopt;
  return message;
}

std::string encode_get(const GetMessage& message) {
  return FieldWriter()
      .text(message.remote_path)
      .text(message.local_path)
      .text(message.temp_tag)
      .u8(message.mode ? 1 : 0)
      .u32(message.mode.value_or(0))
      .u8(message.max_size ? 1 : 0)
      .u64(message.max_size.value_or(0))
      .u8(message.sudo_user ? 1 : 0)
      .text(message.sudo_user.value_or(""))
      .u8(message.recursive ? 1 : 0)
      .take();
}

std::optional<GetMessage> decode_get(std::string_view payload) {
  FieldReader in(payload);
  GetMessage message;
  message.remote_path = in.text();
  message.local_path = in.text();
  message.temp_tag = in.text();
  const bool has_mode = in.u8() != 0;
  const std::uint32_t mode = in.u32();
  if (has_mode) message.mode = mode;
  const bool has_max = in.u8() != 0;
  const std::uint64_t max_size = in.u64();
  if (has_max) message.max_size = max_size;
  const bool has_sudo = in.u8() != 0;
  std::string sudo_user = in.text();
  if (has_sudo) message.sudo_user = std::move(sudo_user);
  message.recursive = in.u8() != 0;
  if (!in.ok() || !message.local_path.starts_with('/')) return std::nullopt;
  return message;
}

std::string encode_transfer_done(const TransferEnd& end) {
  return FieldWriter()
      .u64(end.bytes)
      .u8(end.unchanged ? 1 : 0)
      .text(end.error)
      .u8(end.connection_lost ? 1 : 0)
      .take();
}

std::optional<TransferEnd> decode_transfer_done(std::string_view payload) {
  FieldReader in(payload);
  TransferEnd end;
  end.bytes = in.u64();
  end.unchanged = in.u8() != 0;
  end.error = in.text();
  end.connection_lost = in.u8() != 0;
  if (!in.ok()) return std::nullopt;
  return end;
}

}  // namespace deployd::warm
