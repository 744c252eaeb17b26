// The CLI's line editor, sans IO: the bytes a terminal in raw mode sends go in, what they mean
// comes out (a line entered, end of input, a screen to clear), and render() says how the prompt
// line looks now. The shell (apps/cli/terminal.*) owns the terminal and writes what this says.
//
// Why our own and not libedit's readline callbacks: those drop back to the terminal's cooked
// mode after the first line (the arrows print ^[[A, every line echoes twice), and they cannot
// redraw a half-typed line after the program prints above it. Here the line being typed is ours,
// so an event printed above it leaves it exactly as it was.
//
// Keys: printable text inserts at the cursor; Enter enters the line; Left/Right, Ctrl-B/F, Home/End,
// Ctrl-A/E move; Backspace, Delete, Ctrl-D (on a non-empty line) delete; Ctrl-U/K cut to the start
// or end; Ctrl-W cuts the word before the cursor; Up/Down, Ctrl-P/N walk the history; Ctrl-L clears
// the screen; Ctrl-D on an empty line ends the input. Unknown escape sequences are swallowed whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace hailer::cli {

/// What typed bytes meant, in order.
struct EditEvent {
  /// The kinds of event.
  enum class Kind : uint8_t { line, end_of_input, clear_screen };
  Kind kind;
  std::string line;  ///< the line entered (kind == line)
};

/// One line being typed, with history.
class LineEditor {
 public:
  /// The longest line kept (bytes); typing beyond it is ignored.
  static constexpr std::size_t max_line_bytes = 4096;
  /// Lines kept in the history.
  static constexpr std::size_t max_history = 500;

  /// An editor showing `prompt` before the line.
  explicit LineEditor(std::string prompt);

  /// Feeds bytes read from the terminal; appends what they meant to `events`.
  void feed(std::string_view bytes, std::vector<EditEvent>& events);

  /// The prompt line as it should look now: back to column 0, prompt, text, rest of the row
  /// cleared, the cursor moved back to where it is in the text.
  std::string render() const;
  /// The prompt line of a line just entered, as it stays on screen above what follows.
  std::string render_entered(std::string_view line) const;

  /// The text typed so far.
  const std::string& text() const { return text_; }
  /// The cursor's byte offset in text().
  std::size_t cursor() const { return cursor_; }
  /// Entered lines, oldest first.
  const std::deque<std::string>& history() const { return history_; }

 private:
  enum class Escape : uint8_t { none, esc, csi, ss3 };

  void key(char c, std::vector<EditEvent>& events);
  void escape(char c);
  void csi_final(char final_byte);
  void insert(char c);
  void enter(std::vector<EditEvent>& events);
  void erase_before();
  void erase_at();
  void erase_word_before();
  void move_left();
  void move_right();
  void walk_history(int step);
  std::size_t columns(std::size_t from, std::size_t to) const;

  std::string prompt_;
  std::string text_;
  std::size_t cursor_ = 0;
  std::deque<std::string> history_;
  std::size_t history_at_ = 0;  // history_.size(): the line being typed, not a history entry
  std::string draft_;           // the line being typed while the history is walked
  Escape escape_ = Escape::none;
  std::string csi_params_;  // the parameter bytes of an escape sequence in progress
};

}  // namespace hailer::cli
