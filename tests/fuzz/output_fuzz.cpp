// SPDX-License-Identifier: MIT
// Fuzz target: remote output, from chunks to lines (LineSplitter) to safe text (escape_json,
// escape_terminal). The input's first bytes choose the longest piece and the chunk sizes, so
// lines are cut at arbitrary boundaries; the rest is the stream.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/line_splitter.hpp"
#include "fuzz_check.hpp"
#include "report/escape.hpp"
#include "utf8_model.hpp"

namespace {

using deployd::base::LineSplitter;
using deployd::fuzz::decode_utf8;
using deployd::fuzz::is_valid_utf8;

struct Layout {
  std::size_t max_line = LineSplitter::kDefaultMaxLine;
  std::vector<std::size_t> chunk_sizes;  ///< used in turn; 0 feeds an empty chunk
  std::string_view stream;
};

// Byte 0: the longest piece (4..67, or the default when >= 128). Byte 1: how many chunk sizes
// follow (0..15; none: the stream in one chunk). Then those sizes, then the stream.
Layout layout_of(std::string_view input) {
  Layout layout;
  if (input.size() < 2) {
    layout.stream = input;
    return layout;
  }
  const auto first = static_cast<unsigned char>(input[0]);
  if (first < 128) layout.max_line = first % 64;  // 0..3 too: the splitter must raise it to 4
  const std::size_t count = static_cast<unsigned char>(input[1]) % 16;
  input.remove_prefix(2);
  for (std::size_t i = 0; i < count && !input.empty(); ++i) {
    layout.chunk_sizes.push_back(static_cast<unsigned char>(input[0]));
    input.remove_prefix(1);
  }
  layout.stream = input;
  return layout;
}

// What the lines must add up to: the stream with each "\r\n" turned into "\n".
std::string without_crlf(std::string_view stream) {
  std::string text;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (stream[i] == '\r' && i + 1 < stream.size() && stream[i + 1] == '\n') continue;
    text += stream[i];
  }
  return text;
}

void check_splitter(const Layout& layout) {
  const std::size_t max_line = std::max<std::size_t>(layout.max_line, 4);
  LineSplitter chunked(layout.max_line);
  std::vector<LineSplitter::Line> lines;
  std::string_view rest = layout.stream;
  for (std::size_t turn = 0; !rest.empty(); ++turn) {
    std::size_t size = rest.size();
    if (!layout.chunk_sizes.empty())
      size = std::min(rest.size(), layout.chunk_sizes[turn % layout.chunk_sizes.size()]);
    if (size == 0 && turn >= layout.chunk_sizes.size()) size = 1;  // all sizes 0: still progress
    for (LineSplitter::Line& line : chunked.feed_lines(rest.substr(0, size)))
      lines.push_back(std::move(line));
    rest.remove_prefix(size);
    FUZZ_CHECK(chunked.pending() <= max_line + 1);
  }
  const std::optional<std::string> last = chunked.flush();
  FUZZ_CHECK(chunked.pending() == 0);
  FUZZ_CHECK(!chunked.flush());

  // Every byte comes back, in order; only the "\r" of each "\r\n" is dropped.
  std::string rebuilt;
  for (const LineSplitter::Line& line : lines) {
    FUZZ_CHECK(line.text.find('\n') == std::string::npos);
    FUZZ_CHECK(line.text.size() <= max_line);
    if (line.is_partial) FUZZ_CHECK(!line.text.empty());
    rebuilt += line.text;
    if (!line.is_partial) rebuilt += '\n';
  }
  if (last) {
    FUZZ_CHECK(!last->empty() && last->find('\n') == std::string::npos);
    rebuilt += *last;
  }
  FUZZ_CHECK(rebuilt == without_crlf(layout.stream));

  // Chunk boundaries change nothing: one feed() of the whole stream gives the same lines.
  LineSplitter whole(layout.max_line);
  const std::vector<std::string> texts = whole.feed(layout.stream);
  FUZZ_CHECK(texts.size() == lines.size());
  for (std::size_t i = 0; i < texts.size(); ++i) FUZZ_CHECK(texts[i] == lines[i].text);
  FUZZ_CHECK(whole.flush() == last);

  // A piece is never cut inside a character: valid UTF-8 stays valid piece by piece.
  if (is_valid_utf8(layout.stream)) {
    for (const LineSplitter::Line& line : lines) FUZZ_CHECK(is_valid_utf8(line.text));
    if (last) FUZZ_CHECK(is_valid_utf8(*last));
  }
}

std::string hex_of(unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return {'\\', 'x', kDigits[byte >> 4], kDigits[byte & 0x0F]};
}

// C0 but tab, DEL, C1, and the bidi and invisible characters: what escape_terminal must never
// let through.
bool is_control(std::uint32_t code_point) {
  return (code_point < 0x20 && code_point != '\t') || (code_point >= 0x7F && code_point <= 0x9F) ||
         deployd::report::is_invisible_format(static_cast<char32_t>(code_point));
}

// `escaped` is `bytes` with each valid character kept (unless a control, for a terminal) and
// each other byte written `\xNN`: walking both in step accounts for every byte.
void check_escaped(std::string_view bytes, std::string_view escaped, bool for_terminal) {
  std::size_t out = 0;
  for (std::size_t at = 0; at < bytes.size();) {
    const auto decoded = decode_utf8(bytes, at);
    if (bytes.substr(at, 2) == "\\x") {  // a literal backslash before `x`: `\x5c`
      FUZZ_CHECK(escaped.substr(out, 4) == "\\x5c");
      out += 4;
      at += 1;
      continue;
    }
    if (decoded.length > 0 && !(for_terminal && is_control(decoded.code_point))) {
      FUZZ_CHECK(escaped.substr(out, decoded.length) == bytes.substr(at, decoded.length));
      out += decoded.length;
      at += decoded.length;
      continue;
    }
    const std::size_t end = at + std::max<std::size_t>(decoded.length, 1);
    for (; at < end; ++at, out += 4)
      FUZZ_CHECK(escaped.substr(out, 4) == hex_of(static_cast<unsigned char>(bytes[at])));
  }
  FUZZ_CHECK(out == escaped.size());
  FUZZ_CHECK(is_valid_utf8(escaped));
  FUZZ_CHECK(deployd::report::unescape_bytes(escaped) == bytes);  // unambiguous (issue 16)
  // nlohmann's dump() throws on invalid UTF-8; the escaped text must survive a round trip.
  const std::string json = nlohmann::json(std::string(escaped)).dump();
  FUZZ_CHECK(nlohmann::json::parse(json).get<std::string>() == escaped);
}

void check_escape(std::string_view bytes) {
  for (std::size_t at = 0; at < bytes.size(); ++at)
    FUZZ_CHECK(deployd::report::utf8_sequence_length(bytes, at) == decode_utf8(bytes, at).length);

  const std::string json = deployd::report::escape_json(bytes);
  check_escaped(bytes, json, false);
  // Kept as it is exactly when it is UTF-8 with no `\x` (written `\x5cx`: issue 16).
  FUZZ_CHECK((json == bytes) == (is_valid_utf8(bytes) && bytes.find("\\x") == std::string_view::npos));

  const std::string terminal = deployd::report::escape_terminal(bytes);
  check_escaped(bytes, terminal, true);
  for (std::size_t at = 0; at < terminal.size(); at += decode_utf8(terminal, at).length)
    FUZZ_CHECK(!is_control(decode_utf8(terminal, at).code_point));

  const std::string_view segment = deployd::report::last_segment(bytes);
  FUZZ_CHECK(segment.find('\r') == std::string_view::npos);
  FUZZ_CHECK(segment.empty() || (segment.data() >= bytes.data() &&
                                 segment.data() + segment.size() <= bytes.data() + bytes.size()));
  if (is_valid_utf8(bytes)) {
    std::size_t code_points = 0;
    for (std::size_t at = 0; at < bytes.size(); at += decode_utf8(bytes, at).length) ++code_points;
    FUZZ_CHECK(deployd::report::display_width(bytes) == code_points);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Layout layout = layout_of(input);
  check_splitter(layout);
  check_escape(layout.stream);
  return 0;
}
