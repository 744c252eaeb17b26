// The CLI's line editor (apps/cli/line_editor): keys in, lines and redraws out.
#include "apps/cli/line_editor.hpp"

#include <catch2/catch.hpp>

namespace hailer::cli {
namespace {

const std::string up = "\x1b[A", down = "\x1b[B", right = "\x1b[C", left = "\x1b[D";

// Feeds `bytes`, returns the events.
std::vector<EditEvent> type(LineEditor& e, std::string_view bytes) {
  std::vector<EditEvent> events;
  e.feed(bytes, events);
  return events;
}

std::vector<std::string> lines_of(const std::vector<EditEvent>& events) {
  std::vector<std::string> out;
  for (const auto& ev : events)
    if (ev.kind == EditEvent::Kind::line) out.push_back(ev.line);
  return out;
}

TEST_CASE("line editor: enter gives the line and empties it") {
  LineEditor e("> ");
  CHECK(type(e, "call bo").empty());
  CHECK((e.text()) == ("call bo"));
  const auto events = type(e, "b\r");
  REQUIRE((events.size()) == (1u));
  CHECK((events[0].kind) == (EditEvent::Kind::line));
  CHECK((events[0].line) == ("call bob"));
  CHECK((e.text()) == (""));
  CHECK((e.cursor()) == (0u));
}

TEST_CASE("line editor: the second line edits as the first did") {
  // The bug this editor replaced: after the first line, arrows arrived as text.
  LineEditor e("> ");
  type(e, "who\r");
  type(e, "calx" + left + "l" + right);
  CHECK((e.text()) == ("callx"));
  type(e,
       "\x7f\x7f\x7f\x7f\x7f"
       "call bob");
  CHECK((lines_of(type(e, "\r"))) == (std::vector<std::string>{"call bob"}));
}

TEST_CASE("line editor: arrows move and text inserts at the cursor") {
  LineEditor e("> ");
  type(e, "cal bob" + left + left + left + left + "l");
  CHECK((e.text()) == ("call bob"));
  CHECK((e.cursor()) == (4u));
  type(e, "\x01");  // Ctrl-A
  CHECK((e.cursor()) == (0u));
  type(e, "\x05");  // Ctrl-E
  CHECK((e.cursor()) == (8u));
  type(e, "\x1b[H");
  CHECK((e.cursor()) == (0u));
  type(e, "\x1b[F");
  CHECK((e.cursor()) == (8u));
  type(e, "\x1b[1~");
  CHECK((e.cursor()) == (0u));
  type(e, "\x1bOF");  // End, as a keypad in application mode sends it
  CHECK((e.cursor()) == (8u));
  type(e, left);  // at the start or the end, a further move stays put
  type(e, right + right);
  CHECK((e.cursor()) == (8u));
}

TEST_CASE("line editor: deleting keys") {
  LineEditor e("> ");
  type(e, "hello world");
  type(e, "\x17");  // Ctrl-W: the word before the cursor
  CHECK((e.text()) == ("hello "));
  type(e, "there" + left + left + left + "\x0b");  // Ctrl-K: to the end
  CHECK((e.text()) == ("hello th"));
  type(e, left + left + "\x15");  // Ctrl-U: to the start
  CHECK((e.text()) == ("th"));
  CHECK((e.cursor()) == (0u));
  type(e, "\x1b[3~");  // Delete: at the cursor
  CHECK((e.text()) == ("h"));
  type(e, "\x04");  // Ctrl-D on a non-empty line deletes at the cursor, it does not end the input
  CHECK((e.text()) == (""));
  type(e, "ab\x08");  // Ctrl-H is Backspace too
  CHECK((e.text()) == ("a"));
}

TEST_CASE("line editor: ctrl d on an empty line ends the input once") {
  LineEditor e("> ");
  const auto events = type(e, "\x04");
  REQUIRE((events.size()) == (1u));
  CHECK((events[0].kind) == (EditEvent::Kind::end_of_input));
}

TEST_CASE("line editor: history walks back and returns to the line being typed") {
  LineEditor e("> ");
  type(e, "who\rcall bob\rcall bob\r");
  INFO("a line entered twice in a row is kept once");
  CHECK((e.history().size()) == (2u));
  type(e, "hang");
  type(e, up);
  CHECK((e.text()) == ("call bob"));
  type(e, up);
  CHECK((e.text()) == ("who"));
  type(e, up);  // the oldest: stays
  CHECK((e.text()) == ("who"));
  type(e, down + down);
  INFO("past the newest comes back what was being typed");
  CHECK((e.text()) == ("hang"));
  type(e, down);
  CHECK((e.text()) == ("hang"));
  type(e, "\x10");  // Ctrl-P
  CHECK((e.text()) == ("call bob"));
  CHECK((lines_of(type(e, "\r"))) == (std::vector<std::string>{"call bob"}));
  CHECK((e.history().size()) == (2u));
}

TEST_CASE("line editor: history keeps the newest lines") {
  LineEditor e("> ");
  for (std::size_t i = 0; i < LineEditor::max_history + 3; ++i) type(e, "line " + std::to_string(i) + "\r");
  CHECK((e.history().size()) == (LineEditor::max_history));
  CHECK((e.history().front()) == ("line 3"));
}

TEST_CASE("line editor: ctrl l asks for a clear screen and keeps the line") {
  LineEditor e("> ");
  type(e, "call");
  const auto events = type(e, "\x0c");
  REQUIRE((events.size()) == (1u));
  CHECK((events[0].kind) == (EditEvent::Kind::clear_screen));
  CHECK((e.text()) == ("call"));
}

TEST_CASE("line editor: an escape sequence split across reads is one key") {
  LineEditor e("> ");
  type(e, "ab");
  type(e, "\x1b");
  type(e, "[");
  type(e, "D");
  CHECK((e.text()) == ("ab"));
  CHECK((e.cursor()) == (1u));
}

TEST_CASE("line editor: unknown sequences and control characters insert nothing") {
  LineEditor e("> ");
  type(e,
       "a\x1b[1;5P\x1b[?2004h\x07\t\x1b"
       "xb");  // F1 with Ctrl, a mode string, bell, tab, Alt-x
  CHECK((e.text()) == ("ab"));
  type(e, "\x1b[" + std::string(40, '1') + "D");  // too long to be a key: dropped from where it broke off
  CHECK((e.text().substr(0, 2)) == ("ab"));
}

TEST_CASE("line editor: multi byte characters move and delete whole") {
  LineEditor e("> ");
  type(e,
       "z\xc3\xa9"
       "e");  // zée
  type(e, left + left);
  CHECK((e.cursor()) == (1u));
  type(e, right);
  CHECK((e.cursor()) == (3u));
  type(e, "\x7f");
  CHECK((e.text()) == ("ze"));
  CHECK((e.render()) == ("\r> ze\x1b[K\x1b[1D"));
}

TEST_CASE("line editor: render puts the cursor where it is") {
  LineEditor e("hailer> ");
  CHECK((e.render()) == ("\rhailer> \x1b[K"));
  type(e, "call bob" + left + left + left);
  CHECK((e.render()) == ("\rhailer> call bob\x1b[K\x1b[3D"));
  CHECK((e.render_entered("who")) == ("\rhailer> who\x1b[K"));
}

TEST_CASE("line editor: a line stops growing at its limit") {
  LineEditor e("> ");
  type(e, std::string(LineEditor::max_line_bytes + 10, 'x'));
  CHECK((e.text().size()) == (LineEditor::max_line_bytes));
  CHECK((lines_of(type(e, "\r")).at(0).size()) == (LineEditor::max_line_bytes));
}

TEST_CASE("line editor: pasted lines come out one by one") {
  LineEditor e("> ");
  CHECK((lines_of(type(e, "who\r\ncall bob\rhang"))) == ((std::vector<std::string>{"who", "", "call bob"})));
  CHECK((e.text()) == ("hang"));
}

}  // namespace
}  // namespace hailer::cli
