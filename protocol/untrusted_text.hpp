// Text that came from the network is shown, never obeyed: before it reaches a terminal or a log,
// everything a terminal, a log viewer or a reader's eye could take for something else is made
// visible. ESC and the other C0 and C1 controls (a terminal obeys them: clear the screen, set the
// title, fake a prompt), DEL, line and paragraph separators, the bidirectional controls (U+202E
// turns "gnp.exe" around) and the invisible characters (zero-width space, joiners, soft hyphen,
// BOM) become \u escapes; bytes that are not UTF-8 become \ufffd. Everything else stays as it is.
#pragma once

#include <string>
#include <string_view>

namespace hailer {

/// `text` with every control, bidi and invisible character as a \uXXXX escape (valid inside a
/// JSON string too), and invalid UTF-8 as \ufffd.
std::string escape_untrusted(std::string_view text);

/// True when the code point would be escaped by escape_untrusted.
bool is_unsafe_code_point(char32_t c);

}  // namespace hailer
