#include "protocol/names.hpp"

#include "base/assert.hpp"

namespace hailer {

namespace {
bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_name_char(char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > max_name_length) return false;
  if (!is_alnum(name.front())) return false;  // rules out ".", "..", "-x" and hidden files
  for (char c : name) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

std::string name_key(std::string_view name) {
  HAILER_ASSERT(valid_name(name));
  std::string key(name);
  for (char& c : key) c = lower(c);
  return key;
}

std::string name_skeleton(std::string_view name) {
  HAILER_ASSERT(valid_name(name));
  std::string one;  // each character to its representative
  one.reserve(name.size());
  for (const char c : name) {
    char r = lower(c);
    if (r == '0') r = 'o';
    if (r == 'i' || r == '1') r = 'l';  // I, l, 1 and i: one stroke in many fonts
    one.push_back(r);
  }
  std::string out;  // then the pairs that read as one letter
  out.reserve(one.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    const bool pair = i + 1 < one.size();
    if (pair && one[i] == 'r' && one[i + 1] == 'n') {
      out.push_back('m');
      ++i;
    } else if (pair && one[i] == 'v' && one[i + 1] == 'v') {
      out.push_back('w');
      ++i;
    } else {
      out.push_back(one[i]);
    }
  }
  HAILER_ASSERT(!out.empty() && out.size() <= name.size());
  return out;
}

std::string_view name_key(std::string_view name, std::array<char, max_name_length>& buffer) {
  HAILER_ASSERT(!name.empty() && name.size() <= buffer.size());
  for (std::size_t i = 0; i < name.size(); ++i) buffer[i] = lower(name[i]);
  return {buffer.data(), name.size()};
}

std::string sanitize_name(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (out.size() == max_name_length) break;
    out.push_back(is_name_char(c) ? c : '_');
  }
  if (out.empty() || !is_alnum(out.front())) out.insert(out.begin(), 'x');
  if (out.size() > max_name_length) out.resize(max_name_length);
  HAILER_ASSERT(valid_name(out));
  return out;
}

std::string recording_file_name(std::string_view name, uint64_t serial) {
  std::string file = sanitize_name(name) + "_" + std::to_string(serial) + ".wav";
  HAILER_ASSERT(safe_file_name(file));
  return file;
}

bool safe_file_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (const char c : name) {
    if (!(is_alnum(c) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

}  // namespace hailer
