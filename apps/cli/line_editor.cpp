#include "apps/cli/line_editor.hpp"

#include <utility>

#include "base/assert.hpp"

namespace hailer::cli {

namespace {

constexpr char ctrl(char letter) { return static_cast<char>(letter & 0x1f); }
constexpr char esc = 0x1b;
constexpr char del = 0x7f;
constexpr std::size_t max_escape_params = 16;  // longer is no key: the sequence is dropped

// A UTF-8 continuation byte: never a place for the cursor.
bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

}  // namespace

LineEditor::LineEditor(std::string prompt) : prompt_(std::move(prompt)) {}

void LineEditor::feed(std::string_view bytes, std::vector<EditEvent>& events) {
  for (const char c : bytes) {
    if (escape_ != Escape::none)
      escape(c);
    else
      key(c, events);
    HAILER_ASSERT(cursor_ <= text_.size() && history_at_ <= history_.size());
  }
}

void LineEditor::key(char c, std::vector<EditEvent>& events) {
  switch (c) {
    case '\r':
    case '\n':
      return enter(events);
    case esc:
      escape_ = Escape::esc;
      return;
    case del:
    case ctrl('H'):
      return erase_before();
    case ctrl('D'):
      if (text_.empty()) {
        events.push_back({EditEvent::Kind::end_of_input, {}});
        return;
      }
      return erase_at();
    case ctrl('A'):
      cursor_ = 0;
      return;
    case ctrl('E'):
      cursor_ = text_.size();
      return;
    case ctrl('B'):
      return move_left();
    case ctrl('F'):
      return move_right();
    case ctrl('P'):
      return walk_history(-1);
    case ctrl('N'):
      return walk_history(+1);
    case ctrl('U'):
      text_.erase(0, cursor_);
      cursor_ = 0;
      return;
    case ctrl('K'):
      text_.erase(cursor_);
      return;
    case ctrl('W'):
      return erase_word_before();
    case ctrl('L'):
      events.push_back({EditEvent::Kind::clear_screen, {}});
      return;
    default:
      // Other control characters (Tab, Ctrl-G, ...) mean nothing here; text is inserted.
      if (static_cast<unsigned char>(c) >= 0x20) insert(c);
      return;
  }
}

// ESC [ params final, or ESC O letter (what keypads send in application mode). Alt+key
// (ESC then the key) is dropped.
void LineEditor::escape(char c) {
  const auto byte = static_cast<unsigned char>(c);
  switch (escape_) {
    case Escape::esc:
      csi_params_.clear();
      escape_ = c == '[' ? Escape::csi : c == 'O' ? Escape::ss3 : Escape::none;
      return;
    case Escape::ss3:
      escape_ = Escape::none;
      csi_final(c);
      return;
    case Escape::csi:
      if (byte >= 0x40 && byte <= 0x7e) {
        escape_ = Escape::none;
        csi_final(c);
      } else if (byte >= 0x20 && byte <= 0x3f && csi_params_.size() < max_escape_params) {
        csi_params_ += c;
      } else {
        escape_ = Escape::none;  // not a sequence after all: dropped
      }
      return;
    case Escape::none:
      HAILER_ASSERT(false);
  }
}

void LineEditor::csi_final(char final_byte) {
  // "1;5C" (Ctrl+Right) moves as Right does: the modifier after ';' is not looked at.
  const std::string first = csi_params_.substr(0, csi_params_.find(';'));
  switch (final_byte) {
    case 'A':
      return walk_history(-1);
    case 'B':
      return walk_history(+1);
    case 'C':
      return move_right();
    case 'D':
      return move_left();
    case 'H':
      cursor_ = 0;
      return;
    case 'F':
      cursor_ = text_.size();
      return;
    case '~':
      if (first == "1" || first == "7") cursor_ = 0;
      if (first == "4" || first == "8") cursor_ = text_.size();
      if (first == "3") erase_at();
      return;
    default:
      return;
  }
}

void LineEditor::insert(char c) {
  if (text_.size() >= max_line_bytes) return;
  text_.insert(cursor_, 1, c);
  ++cursor_;
}

void LineEditor::enter(std::vector<EditEvent>& events) {
  std::string line = std::exchange(text_, std::string());
  cursor_ = 0;
  draft_.clear();
  if (!line.empty() && (history_.empty() || history_.back() != line)) {
    history_.push_back(line);
    if (history_.size() > max_history) history_.pop_front();
  }
  history_at_ = history_.size();
  events.push_back({EditEvent::Kind::line, std::move(line)});
}

void LineEditor::erase_before() {
  if (cursor_ == 0) return;
  std::size_t from = cursor_ - 1;
  while (from > 0 && continuation(text_[from])) --from;
  text_.erase(from, cursor_ - from);
  cursor_ = from;
}

void LineEditor::erase_at() {
  if (cursor_ == text_.size()) return;
  std::size_t to = cursor_ + 1;
  while (to < text_.size() && continuation(text_[to])) ++to;
  text_.erase(cursor_, to - cursor_);
}

// The word before the cursor and the spaces after it, as a shell's Ctrl-W does.
void LineEditor::erase_word_before() {
  std::size_t from = cursor_;
  while (from > 0 && text_[from - 1] == ' ') --from;
  while (from > 0 && text_[from - 1] != ' ') --from;
  text_.erase(from, cursor_ - from);
  cursor_ = from;
}

void LineEditor::move_left() {
  if (cursor_ == 0) return;
  --cursor_;
  while (cursor_ > 0 && continuation(text_[cursor_])) --cursor_;
}

void LineEditor::move_right() {
  if (cursor_ == text_.size()) return;
  ++cursor_;
  while (cursor_ < text_.size() && continuation(text_[cursor_])) ++cursor_;
}

// Up (-1) shows the entry before, Down (+1) the one after; past the newest comes back the line
// that was being typed.
void LineEditor::walk_history(int step) {
  if (step < 0 && history_at_ == 0) return;
  if (step > 0 && history_at_ == history_.size()) return;
  if (history_at_ == history_.size()) draft_ = text_;
  history_at_ = step < 0 ? history_at_ - 1 : history_at_ + 1;
  text_ = history_at_ == history_.size() ? draft_ : history_[history_at_];
  cursor_ = text_.size();
}

std::size_t LineEditor::columns(std::size_t from, std::size_t to) const {
  std::size_t n = 0;
  for (std::size_t i = from; i < to; ++i)
    if (!continuation(text_[i])) ++n;
  return n;
}

std::string LineEditor::render() const {
  std::string out = "\r" + prompt_ + text_ + "\033[K";
  const std::size_t back = columns(cursor_, text_.size());
  if (back > 0) out += "\033[" + std::to_string(back) + "D";
  return out;
}

std::string LineEditor::render_entered(std::string_view line) const {
  return "\r" + prompt_ + std::string(line) + "\033[K";
}

}  // namespace hailer::cli
