// SPDX-License-Identifier: MIT
// The warm session protocol: frames cut from a stream in any pieces, and each message read back.
#include "warm/protocol.hpp"

#include <doctest/doctest.h>

#include <string>

namespace deployd::warm {
namespace {

TEST_CASE("a frame is its length, its type and its payload") {
  const std::string frame = encode_frame(FrameType::Exec, "ab");
  CHECK(frame == std::string("\0\0\0\3\5ab", 7));
}

TEST_CASE("frames come out whole whatever pieces the bytes arrive in") {
  const std::string binary("out\0put\xff\n", 9);
  const std::string stream = encode_frame(FrameType::Output, binary) +
                             encode_frame(FrameType::Cancel, "") +
                             encode_frame(FrameType::StatusReply, std::string(70000, 'x'));
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{4096}, stream.size()}) {
    FrameDecoder decoder;
    std::vector<Frame> frames;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
      decoder.feed(std::string_view(stream).substr(at, piece));
      while (std::optional<Frame> frame = decoder.next()) frames.push_back(std::move(*frame));
    }
    CAPTURE(piece);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].type == FrameType::Output);
    CHECK(frames[0].payload == binary);
    CHECK(frames[1].type == FrameType::Cancel);
    CHECK(frames[1].payload.empty());
    CHECK(frames[2].payload.size() == 70000);
    CHECK(decoder.error().empty());
  }
}

TEST_CASE("a frame larger than the limit, or of length 0, ends the stream with an error") {
  FrameDecoder big;
  big.feed(std::string("\x01\x00\x00\x01\x05", 5));  // 16 MiB + 1
  CHECK_FALSE(big.next());
  CHECK(big.error().find("not a deployd serve stream") != std::string::npos);
  big.feed(encode_frame(FrameType::Cancel, ""));
  CHECK_FALSE(big.next());  // nothing after an error

  FrameDecoder empty;
  empty.feed(std::string("\0\0\0\0", 4));
  CHECK_FALSE(empty.next());
  CHECK_FALSE(empty.error().empty());
}

TEST_CASE("a short frame waits for the rest") {
  FrameDecoder decoder;
  const std::string frame = encode_frame(FrameType::Exec, "hello");
  decoder.feed(frame.substr(0, frame.size() - 1));
  CHECK_FALSE(decoder.next());
  CHECK(decoder.error().empty());
  decoder.feed(frame.substr(frame.size() - 1));
  std::optional<Frame> whole = decoder.next();
  REQUIRE(whole);
  CHECK(whole->payload == "hello");
}

TEST_CASE("hello carries the connection spec, without secrets") {
  ssh::ConnectionSpec spec;
  spec.name = "web1";
  spec.address = "127.0.34.1";
  spec.port = 2234;
  spec.user = "deploy";
  spec.identities = {"/k/one", "/k/two"};
  spec.identities_only = true;
  spec.known_hosts = "/k/known_hosts";
  spec.host_key_check = ssh::HostKeyCheck::AcceptNew;
  spec.connect_timeout = std::chrono::milliseconds(2500);
  spec.keepalive = std::chrono::milliseconds(7000);
  spec.password = "secret";
  std::uint32_t version = 0;
  std::optional<ssh::ConnectionSpec> back = decode_hello(encode_hello(spec), version);
  REQUIRE(back);
  CHECK(version == kProtocolVersion);
  CHECK(back->name == "web1");
  CHECK(back->address == "127.0.34.1");
  CHECK(back->port == 2234);
  CHECK(back->user == "deploy");
  CHECK(back->identities == spec.identities);
  CHECK(back->identities_only);
  CHECK(back->known_hosts == "/k/known_hosts");
  CHECK(back->host_key_check == ssh::HostKeyCheck::AcceptNew);
  CHECK(back->connect_timeout == std::chrono::milliseconds(2500));
  CHECK(back->keepalive == std::chrono::milliseconds(7000));
  CHECK_FALSE(back->password);  // never sent: such hosts connect directly
  CHECK(encode_hello(spec).find("secret") == std::string::npos);
}

TEST_CASE("a hello of another version, cut short or with a bad field is refused") {
  ssh::ConnectionSpec spec;
  spec.address = "h";
  const std::string hello = encode_hello(spec);
  std::uint32_t version = 0;
  CHECK_FALSE(decode_hello(hello.substr(0, hello.size() - 1), version));
  CHECK_FALSE(decode_hello(hello + "x", version));
  std::string other = hello;
  other[3] = 9;
  CHECK_FALSE(decode_hello(other, version));
  CHECK(version == 9);
  spec.port = 0;
  CHECK_FALSE(decode_hello(encode_hello(spec), version));
}

TEST_CASE("exec and its end read back field by field") {
  ExecMessage exec{"sh -s", std::string("script\0with nul", 15), std::chrono::milliseconds(1500)};
  std::optional<ExecMessage> back = decode_exec(encode_exec(exec));
  REQUIRE(back);
  CHECK(back->command == "sh -s");
  CHECK(back->input == exec.input);
  CHECK(back->timeout == std::chrono::milliseconds(1500));
  CHECK_FALSE(decode_exec(encode_exec(ExecMessage{"true", "", std::nullopt}))->timeout);

  ExecEnd status{-1, "", false, "", false};
  CHECK(decode_exec_done(encode_exec_done(status))->exit_status == -1);
  ExecEnd signal{std::nullopt, "KILL", false, "", false};
  std::optional<ExecEnd> killed = decode_exec_done(encode_exec_done(signal));
  REQUIRE(killed);
  CHECK_FALSE(killed->exit_status);
  CHECK(killed->exit_signal == "KILL");
  ExecEnd lost{std::nullopt, "", true, "connection lost", true};
  std::optional<ExecEnd> lost_back = decode_exec_done(encode_exec_done(lost));
  CHECK(lost_back->timed_out);
  CHECK(lost_back->error == "connection lost");
  CHECK(lost_back->cancelled);
  CHECK_FALSE(decode_exec_done("\1"));

  std::optional<ConnectError> failed =
      decode_failed(encode_failed(ConnectError{3, "host key mismatch", false}));
  REQUIRE(failed);
  CHECK(failed->failure == 3);
  CHECK(failed->error == "host key mismatch");
}

TEST_CASE("a put reads back with its optional fields; a relative local path is refused") {
  PutMessage put{"/plan/files/app.tar", "/srv/app.tar", 0640u, "run-1",
                 std::string(""),       "www",          "",    false};
  std::optional<PutMessage> back = decode_put(encode_put(put));
  REQUIRE(back);
  CHECK(back->local_path == "/plan/files/app.tar");
  CHECK(back->remote_path == "/srv/app.tar");
  CHECK(back->mode == 0640u);
  CHECK(back->temp_tag == "run-1");
  CHECK(back->sudo_user == std::string(""));  // root, not "no sudo"
  CHECK(back->owner == "www");
  CHECK_FALSE(back->recursive);
  PutMessage plain{"/a", "b", std::nullopt, "", std::nullopt, "", "", true};
  std::optional<PutMessage> plain_back = decode_put(encode_put(plain));
  REQUIRE(plain_back);
  CHECK_FALSE(plain_back->mode);
  CHECK_FALSE(plain_back->sudo_user);
  CHECK(plain_back->recursive);
  plain.local_path = "files/app.tar";  // the daemon's folder is not the run's
  CHECK_FALSE(decode_put(encode_put(plain)));

  std::optional<TransferEnd> end =
      decode_transfer_done(encode_transfer_done(TransferEnd{1ull << 40, true, "lost", true}));
  REQUIRE(end);
  CHECK(end->bytes == 1ull << 40);
  CHECK(end->unchanged);
  CHECK(end->error == "lost");
  CHECK(end->connection_lost);
}

TEST_CASE("a get reads back with its optional fields; a relative local path is refused") {
  GetMessage get{"/etc/app.conf", "/plan/out/web1.conf", "run-2", 0600u,
                 1ull << 33,      std::nullopt,          true};
  std::optional<GetMessage> back = decode_get(encode_get(get));
  REQUIRE(back);
  CHECK(back->remote_path == "/etc/app.conf");
  CHECK(back->local_path == "/plan/out/web1.conf");
  CHECK(back->temp_tag == "run-2");
  CHECK(back->mode == 0600u);
  CHECK(back->max_size == 1ull << 33);
  CHECK_FALSE(back->sudo_user);
  CHECK(back->recursive);
  GetMessage plain{"a", "/b", "", std::nullopt, std::nullopt, std::string("www"), false};
  std::optional<GetMessage> plain_back = decode_get(encode_get(plain));
  REQUIRE(plain_back);
  CHECK_FALSE(plain_back->mode);
  CHECK_FALSE(plain_back->max_size);
  CHECK(plain_back->sudo_user == std::string("www"));
  plain.local_path = "out/b";
  CHECK_FALSE(decode_get(encode_get(plain)));
}

}  // namespace
}  // namespace deployd::warm
