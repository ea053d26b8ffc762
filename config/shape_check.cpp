#include "otpp/config/shape_check.hpp"

#include <cctype>

namespace otpp::config {

namespace {

bool bare_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+';
}

// Walks the text outside strings and comments, counting the parts of each
// run of dotted names (keys, headers; a number such as 1.5 counts too) and
// the depth of brackets and braces.
class shape_scanner {
public:
  shape_scanner(const std::string& text, const std::string& source) : text_(text), source_(source) {}

  std::optional<problem> run() {
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (c == '#') {
        skip_to_line_end();
      } else if (c == '"' || c == '\'') {
        skip_string(c); // a quoted key part: the run of dotted names goes on
      } else if (c == '.') {
        if (++parts_ > max_key_parts)
          return at("a dotted key or value has more than " + std::to_string(max_key_parts) + " parts");
        advance();
      } else if (c == '[' || c == '{') {
        if (++depth_ > max_nesting)
          return at("tables or arrays nested more than " + std::to_string(max_nesting) + " deep");
        end_name();
        advance();
      } else if (c == ']' || c == '}') {
        depth_ = depth_ > 0 ? depth_ - 1 : 0;
        end_name();
        advance();
      } else if (c == ' ' || c == '\t' || c == '\r') {
        advance(); // a dotted key may have blanks around its dots
      } else if (bare_key_char(c)) {
        advance();
      } else {
        end_name();
        advance();
      }
    }
    return std::nullopt;
  }

private:
  std::optional<problem> at(std::string message) const {
    return problem{source_, line_, column_, "", std::move(message)};
  }

  void advance() {
    if (text_[i_] == '\n') {
      ++line_;
      column_ = 1;
      end_name();
    } else {
      ++column_;
    }
    ++i_;
  }

  void end_name() { parts_ = 1; }

  void skip_to_line_end() {
    while (i_ < text_.size() && text_[i_] != '\n')
      advance();
  }

  // A basic ("...", with escapes) or literal ('...') string, one line or multi-line.
  void skip_string(char quote) {
    bool multi = text_.compare(i_, 3, std::string(3, quote)) == 0;
    for (int k = 0; k < (multi ? 3 : 1); ++k)
      advance();
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (c == '\\' && quote == '"') {
        advance();
        if (i_ < text_.size())
          advance();
        continue;
      }
      if (c == quote && (!multi || text_.compare(i_, 3, std::string(3, quote)) == 0)) {
        for (int k = 0; k < (multi ? 3 : 1); ++k)
          advance();
        return;
      }
      if (c == '\n' && !multi)
        return; // an unterminated string: toml++ says so
      advance();
    }
  }

  const std::string& text_;
  const std::string& source_;
  std::size_t i_ = 0;
  int line_ = 1;
  int column_ = 1;
  int parts_ = 1;
  int depth_ = 0;
};

} // namespace

std::optional<problem> check_shape(const std::string& text, const std::string& source) {
  return shape_scanner{text, source}.run();
}

} // namespace otpp::config
