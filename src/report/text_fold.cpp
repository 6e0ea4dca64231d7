// SPDX-License-Identifier: MIT
// Folding many hosts' texts into one (see text_fold.hpp).
#include "report/text_fold.hpp"

#include <cctype>

namespace deployd::report {
namespace {

bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::size_t digits_at(std::string_view text, std::size_t at) {
  std::size_t end = at;
  while (end < text.size() && is_digit(text[end])) ++end;
  return end - at;
}

// `1.2.3.4` or `1.2.3.4:22` at `at`: its length, else 0.
std::size_t address_at(std::string_view text, std::size_t at) {
  std::size_t end = at;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (end >= text.size() || text[end] != '.') return 0;
      ++end;
    }
    const std::size_t n = digits_at(text, end);
    if (n == 0 || n > 3) return 0;
    end += n;
  }
  if (end + 1 < text.size() && text[end] == ':' && is_digit(text[end + 1]))
    end += 1 + digits_at(text, end + 1);
  return end - at;
}

// `860ms`, `1.2s`, `5m`, `1h`, `2m05s`, `1h02m` at `at`: its length, else 0.
std::size_t duration_at(std::string_view text, std::size_t at) {
  std::size_t end = at + digits_at(text, at);
  if (end == at) return 0;
  if (end + 1 < text.size() && text[end] == '.' && is_digit(text[end + 1]))
    end += 1 + digits_at(text, end + 1);
  std::size_t unit = 0;
  if (text.substr(end, 2) == "ms") {
    unit = 2;
  } else if (end < text.size() && (text[end] == 's' || text[end] == 'm' || text[end] == 'h')) {
    unit = 1;
  }
  if (unit == 0) return 0;
  end += unit;
  // base::elapsed_text's two-part forms: minutes and seconds, hours and minutes.
  const char second_unit = text[end - 1] == 'm' && unit == 1 ? 's'
                           : text[end - 1] == 'h'            ? 'm'
                                                             : '\0';
  if (second_unit != 0 && digits_at(text, end) == 2 && end + 2 < text.size() &&
      text[end + 2] == second_unit)
    end += 3;
  if (end < text.size() && is_word(text[end])) return 0;
  return end - at;
}

struct Split {
  std::string_view text;
  bool varies;
  bool is_host;
};

// The text cut into fixed and varying pieces, in order.
template <typename Visit>
void split(std::string_view text, std::string_view host, Visit visit) {
  std::size_t literal = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const bool starts_word = at == 0 || (!is_word(text[at - 1]) && text[at - 1] != '.');
    std::size_t length = 0;
    bool is_host = false;
    if (starts_word && is_digit(text[at])) {
      length = address_at(text, at);
      if (length == 0) length = duration_at(text, at);
    }
    if (length == 0 && !host.empty() && (at == 0 || !is_word(text[at - 1])) &&
        text.substr(at, host.size()) == host &&
        (at + host.size() == text.size() || !is_word(text[at + host.size()]))) {
      length = host.size();
      is_host = true;
    }
    if (length == 0) {
      ++at;
      continue;
    }
    if (at > literal) visit(Split{text.substr(literal, at - literal), false, false});
    visit(Split{text.substr(at, length), true, is_host});
    at += length;
    literal = at;
  }
  if (literal < text.size()) visit(Split{text.substr(literal), false, false});
}

}  // namespace

std::string TextFold::shape_of(std::string_view text, std::string_view host) {
  std::string shape;
  split(text, host, [&](const Split& piece) {
    if (piece.varies) {
      shape += '\x01';
    } else {
      shape.append(piece.text);
    }
  });
  return shape;
}

void TextFold::add(std::string_view text, std::string_view host) {
  std::size_t index = 0;
  split(text, host, [&](const Split& piece) {
    if (empty_) {
      pieces_.push_back(Piece{std::string(piece.text), piece.varies, piece.is_host, true});
      return;
    }
    if (index >= pieces_.size()) return;  // another shape: not expected, shown as the first
    Piece& mine = pieces_[index++];
    if (!mine.varies) return;
    mine.is_host = mine.is_host && piece.is_host;
    mine.same = mine.same && mine.text == piece.text;
  });
  empty_ = false;
}

std::string TextFold::text() const {
  std::string text;
  for (const Piece& piece : pieces_) {
    if (!piece.varies || piece.same) {
      text += piece.text;
    } else {
      text += piece.is_host ? "<host>" : "…";
    }
  }
  return text;
}

}  // namespace deployd::report
