#include "apps/cli/terminal.hpp"

#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <cerrno>
#include <cstdio>
#include <utility>
#include <vector>

#include "base/assert.hpp"

namespace hailer::cli {

namespace asio = boost::asio;

Terminal::Terminal(asio::io_context& io, bool interactive, std::string prompt, LineHandler on_line, EndHandler on_end)
    : input_(io, ::dup(STDIN_FILENO)),
      interactive_(interactive),
      editor_(std::move(prompt)),
      on_line_(std::move(on_line)),
      on_end_(std::move(on_end)) {}

Terminal::~Terminal() { restore(); }

void Terminal::start() {
  if (interactive_) {
    termios t{};
    if (::tcgetattr(STDIN_FILENO, &t) == 0) {
      saved_ = t;
      // Keys one at a time and not echoed: the editor draws the line. Signals stay (Ctrl-C, Ctrl-Z),
      // and so does output processing ("\n" still moves to the start of the next row).
      t.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO | IEXTEN));
      t.c_iflag &= static_cast<tcflag_t>(~(ICRNL | INLCR | IXON));
      t.c_cc[VMIN] = 1;
      t.c_cc[VTIME] = 0;
      ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    write_all(editor_.render());
    read_keys();
  } else {
    read_lines();
  }
}

void Terminal::print(const std::string& text) {
  if (!interactive_ || stopped_) {
    write_all(text + "\n");
    return;
  }
  // Over the prompt line, then the prompt line again below: what was typed stays as it was.
  write_all("\r\033[K" + text + "\n" + editor_.render());
}

void Terminal::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  input_.cancel(ignored);
  if (interactive_) write_all("\n");  // the shell's prompt comes on a line of its own
  restore();
}

void Terminal::restore() {
  if (!saved_) return;
  ::tcsetattr(STDIN_FILENO, TCSANOW, &*saved_);
  saved_.reset();
}

void Terminal::read_keys() {
  input_.async_read_some(asio::buffer(keys_), [this](const boost::system::error_code& ec, std::size_t n) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      on_end_();
      return;
    }
    on_keys(n);
  });
}

void Terminal::on_keys(std::size_t n) {
  std::vector<EditEvent> events;
  editor_.feed(std::string_view(keys_.data(), n), events);
  for (auto& event : events) {
    if (stopped_) return;
    switch (event.kind) {
      case EditEvent::Kind::line:
        // The entered line stays on screen as typed (keys that came in one read were never drawn
        // one by one); what it makes the CLI say comes below.
        write_all(editor_.render_entered(event.line) + "\n");
        on_line_(std::move(event.line));
        break;
      case EditEvent::Kind::end_of_input:
        on_end_();
        return;
      case EditEvent::Kind::clear_screen:
        write_all("\033[H\033[2J");
        break;
    }
  }
  if (stopped_) return;
  write_all(editor_.render());
  read_keys();
}

void Terminal::read_lines() {
  asio::async_read_until(input_, typed_, '\n', [this](const boost::system::error_code& ec, std::size_t n) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // End of input: whatever was typed without a newline still counts.
      std::string rest(asio::buffers_begin(typed_.data()), asio::buffers_end(typed_.data()));
      typed_.consume(typed_.size());
      if (!rest.empty()) on_line_(rest);
      if (!stopped_) on_end_();
      return;
    }
    std::string line(asio::buffers_begin(typed_.data()),
                     asio::buffers_begin(typed_.data()) + static_cast<std::ptrdiff_t>(n - 1));
    typed_.consume(n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    on_line_(std::move(line));
    if (!stopped_) read_lines();
  });
}

// stdout is blocking: a line is written whole (a terminal or a pipe that is read takes it at once;
// one that is not read holds the CLI, as it would any program writing to it).
void Terminal::write_all(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stdout is gone: nothing more to show
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace hailer::cli
