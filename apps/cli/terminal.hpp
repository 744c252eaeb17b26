// The CLI's terminal side: what the user types comes in as lines, and every line the CLI prints
// goes out here. On a terminal, stdin is put in raw mode (no echo, no line buffering) and the
// line editor (apps/cli/line_editor.hpp) owns the prompt line: a line printed while the user
// types appears above it, and the half-typed line is drawn again exactly as it was. Otherwise
// (a script, a pipe, --json) stdin is read line by line and nothing but the lines is written.
#pragma once

#include <termios.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/streambuf.hpp>
#include <functional>
#include <optional>
#include <string>

#include "apps/cli/line_editor.hpp"

namespace hailer::cli {

/// stdin and stdout of the CLI.
class Terminal {
 public:
  /// Called with each line entered (without its newline).
  using LineHandler = std::function<void(std::string)>;
  /// Called once when the input ends (Ctrl-D, or the end of a script).
  using EndHandler = std::function<void()>;

  /// `interactive`: edit lines on the terminal (stdin and stdout must be one); otherwise read
  /// lines as they come. Nothing is read or changed before start().
  Terminal(boost::asio::io_context& io, bool interactive, std::string prompt, LineHandler on_line, EndHandler on_end);
  /// Gives the terminal back as it was found.
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  /// Puts the terminal in raw mode (interactive), shows the prompt and starts reading.
  void start();
  /// Prints `text` (one or more lines, no trailing newline) above the prompt line, which is drawn
  /// again as it was. `text` must already be safe for a terminal.
  void print(const std::string& text);
  /// Stops reading, leaves the prompt line as it is and moves below it, restores the terminal.
  void stop();
  /// True when lines are edited on a terminal.
  bool interactive() const { return interactive_; }

 private:
  void read_keys();
  void read_lines();
  void on_keys(std::size_t n);
  void restore();
  static void write_all(const std::string& bytes);

  boost::asio::posix::stream_descriptor input_;
  bool interactive_;
  LineEditor editor_;
  LineHandler on_line_;
  EndHandler on_end_;
  std::optional<termios> saved_;  // the terminal's settings before raw mode
  std::array<char, 256> keys_{};
  boost::asio::streambuf typed_{1 << 16};
  bool stopped_ = false;
};

}  // namespace hailer::cli
