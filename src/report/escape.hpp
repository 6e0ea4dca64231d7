// SPDX-License-Identifier: MIT
// Makes remote bytes safe to put in JSON strings and on the user's terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace deployd::report {

// The choice: every byte that cannot be shown as is becomes the four characters `\xNN`
// (lower-case hex), in JSON and on the terminal alike, so nothing is dropped and a user sees
// the very bytes the remote sent. Valid UTF-8 is kept as it is, and so are backslashes, except
// one followed by `x`, which is written `\x5c` (issue 16): so `\xNN` always stands for one byte
// and unescape_bytes() gives the remote's bytes back, while ordinary text (Windows paths,
// regexes) reads unchanged. U+FFFD replacement was rejected because it loses the bytes;
// "\u00NN" because JSON would decode it as a different character.

/// Length of the valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF)
/// starting at `text[at]`, or 0 when the byte there does not start one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

/// Text for a JSON string: valid UTF-8 is kept, every other byte becomes `\xNN`. The result is
/// always valid UTF-8, so nlohmann's dump() never throws on it (JSON escaping is dump()'s job).
std::string escape_json(std::string_view bytes);

/// Text for a terminal: as escape_json, and control characters other than tab become `\xNN`
/// too, byte by byte: C0 (ESC, CR, BS, ...), DEL and the C1 range U+0080..U+009F (which some
/// terminals obey as ESC sequences), so remote output can never move the cursor, change colours
/// or retitle the window; so do the bidi controls and invisible characters (U+202E, U+200B,
/// U+2066.., U+FEFF...; is_invisible_format), so that what a user reads is what the text holds.
std::string escape_terminal(std::string_view bytes);

/// The bytes that escape_json() or escape_terminal() made `text` from: each `\xNN` (two
/// lower-case hex digits) becomes that byte; everything else is kept.
std::string unescape_bytes(std::string_view text);

/// True for the code points that change how text around them reads without showing
/// themselves: bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners,
/// invisible operators, soft hyphen, line/paragraph separators, the BOM, interlinear annotation.
bool is_invisible_format(char32_t code_point);

/// What a terminal would show of a line that redraws itself with carriage returns (progress
/// bars: `10%\r20%\r30%`): the part after the last "\r" that is followed by text. The run log
/// keeps the whole line; only displays use this.
std::string_view last_segment(std::string_view line);

/// Columns `text` takes when printed, counting one per code point (no wide-character tables).
std::size_t display_width(std::string_view text);

}  // namespace deployd::report
