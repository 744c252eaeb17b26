// The classroom web server's Beast-free rules (net/web_rules.hpp).
#include "net/web_rules.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace hailer::net;

TEST_CASE("web: files are served with the type their extension names, anything else as bytes", "[web]") {
  CHECK(content_type("/index.html") == "text/html; charset=utf-8");
  CHECK(content_type("student.js") == "text/javascript; charset=utf-8");
  CHECK(content_type("ann_1.wav") == "audio/wav");
  CHECK(content_type("notes.txt") == "application/octet-stream");
  CHECK(content_type("Makefile") == "application/octet-stream");
  CHECK(content_type("x.html.bak") == "application/octet-stream");
}

TEST_CASE("web: the instructor's cookie is a digest of the token, never the token, and none without one", "[web]") {
  const std::string cookie = instructor_cookie("open-sesame-0123456789");
  CHECK(cookie.size() == 64);
  CHECK(cookie.find("open-sesame") == std::string::npos);
  CHECK(cookie == instructor_cookie("open-sesame-0123456789"));  // a restart with the same token knows it
  CHECK(cookie != instructor_cookie("open-sesame-0123456788"));
  CHECK(instructor_cookie("").empty());
}

TEST_CASE("web: a cookie is found by its exact name among the header's pairs", "[web]") {
  CHECK(cookie_in_header("hailer_instructor=abc", "hailer_instructor") == std::optional<std::string>("abc"));
  CHECK(cookie_in_header("a=1; hailer_instructor=abc; b=2", "hailer_instructor") == std::optional<std::string>("abc"));
  CHECK_FALSE(cookie_in_header("xhailer_instructor=abc", "hailer_instructor"));
  CHECK_FALSE(cookie_in_header("hailer_instructor", "hailer_instructor"));
  CHECK(cookie_in_header("hailer_instructor=", "hailer_instructor") == std::optional<std::string>(""));
  CHECK_FALSE(cookie_in_header("", "hailer_instructor"));
}

TEST_CASE("web: only listed origins may open the WebSocket, a client without an Origin may", "[web]") {
  const std::vector<std::string> allowed{"https://127.0.0.1:8443", "https://localhost:8443"};
  CHECK(origin_allowed(std::nullopt, allowed));
  CHECK(origin_allowed("https://localhost:8443", allowed));
  CHECK(origin_allowed("HTTPS://LocalHost:8443", allowed));
  CHECK_FALSE(origin_allowed("https://evil.example", allowed));
  CHECK_FALSE(origin_allowed("https://localhost:8444", allowed));
  CHECK_FALSE(origin_allowed("null", allowed));
}

TEST_CASE("web: a bearer token is read only from a Bearer authorization", "[web]") {
  CHECK(bearer_token("Bearer tok") == std::optional<std::string_view>("tok"));
  CHECK_FALSE(bearer_token("Basic dG9rOg=="));
  CHECK_FALSE(bearer_token("bearer tok"));
  CHECK(bearer_token("Bearer ") == std::optional<std::string_view>(""));
}

TEST_CASE("web: routes are decided from the method and the target alone", "[web]") {
  using K = Route::Kind;
  CHECK(route_of(Method::post, "/api/instructor/session").kind == K::instructor_session);
  CHECK(route_of(Method::get, "/api/instructor/session").kind == K::instructor_session);
  CHECK(route_of(Method::post, "/").kind == K::method_not_allowed);
  CHECK(route_of(Method::get, "/favicon.ico").file == "favicon.svg");  // never a 404 in a console
  CHECK(route_of(Method::get, "/favicon.ico").kind == K::page);
  CHECK(route_of(Method::other, "/index.html").kind == K::method_not_allowed);
  const Route del = route_of(Method::del, "/recordings/ann_1.wav");
  CHECK(del.kind == K::recording_delete);
  CHECK(del.file == "ann_1.wav");
  CHECK(del.needs_instructor);
  CHECK(route_of(Method::del, "/index.html").kind == K::method_not_allowed);
  CHECK(route_of(Method::del, "/api/recordings").kind == K::method_not_allowed);
  const Route list = route_of(Method::get, "/api/recordings?t=1");
  CHECK(list.kind == K::recordings_list);
  CHECK(list.needs_instructor);
  const Route one = route_of(Method::head, "/recordings/ann_1.wav");
  CHECK(one.kind == K::recording);
  CHECK(one.file == "ann_1.wav");
  CHECK(one.needs_instructor);  // even a name that is not safe is asked about only after the instructor
  CHECK(route_of(Method::get, "/recordings/../x").needs_instructor);
  CHECK(route_of(Method::get, "/").file == "index.html");
  CHECK(route_of(Method::get, "/?join=1").file == "index.html");
  CHECK(route_of(Method::get, "/instructor").file == "instructor.html");
  CHECK(route_of(Method::get, "/style.css").kind == K::page);
  CHECK_FALSE(route_of(Method::get, "/style.css").needs_instructor);
  CHECK(route_of(Method::get, "/../etc/passwd").kind == K::not_found);
  CHECK(route_of(Method::get, "/.hidden").kind == K::not_found);
  CHECK(route_of(Method::get, "/a/b.js").kind == K::not_found);
}

TEST_CASE("web: the recordings list is a JSON array, newest first, names escaped", "[web]") {
  CHECK(recordings_json({}) == "[]\n");
  const std::string json =
      recordings_json({{"ann_1.wav", 44, 0, 1000}, {"ben_2.wav", 1964, 20, 2000}, {"amy_3.wav", 44, 0, 1000}});
  CHECK(json == R"([{"file":"ben_2.wav","bytes":1964,"audio_ms":20,"modified_ms":2000},)"
                R"({"file":"amy_3.wav","bytes":44,"audio_ms":0,"modified_ms":1000},)"
                R"({"file":"ann_1.wav","bytes":44,"audio_ms":0,"modified_ms":1000}])"
                "\n");
  CHECK(recordings_json({{"a\"b.wav", 1, 0, 0}}).find(R"(a\"b.wav)") != std::string::npos);
}

TEST_CASE("web: a Range header gives one part of a recording, or all of it, or 416 past the end", "[web]") {
  using K = RangeAnswer::Kind;
  CHECK(byte_range(std::nullopt, 100).kind == K::whole);
  const RangeAnswer from = byte_range("bytes=0-", 100);
  CHECK(from.kind == K::part);
  CHECK((from.range.first == 0 && from.range.last == 99));
  const RangeAnswer middle = byte_range("bytes=10-19", 100);
  CHECK((middle.kind == K::part && middle.range.first == 10 && middle.range.last == 19));
  const RangeAnswer clipped = byte_range("bytes=90-500", 100);  // a last past the end is cut to it
  CHECK((clipped.kind == K::part && clipped.range.first == 90 && clipped.range.last == 99));
  const RangeAnswer tail = byte_range("bytes=-30", 100);
  CHECK((tail.kind == K::part && tail.range.first == 70 && tail.range.last == 99));
  const RangeAnswer more_than_all = byte_range("bytes=-300", 100);
  CHECK((more_than_all.kind == K::part && more_than_all.range.first == 0 && more_than_all.range.last == 99));
  // The edge: the last byte is a range; one past it is not.
  CHECK(byte_range("bytes=99-", 100).kind == K::part);
  CHECK(byte_range("bytes=100-", 100).kind == K::unsatisfiable);
  CHECK(byte_range("bytes=-0", 100).kind == K::unsatisfiable);
  // What we do not serve is answered whole: other units, several ranges, garbage, overflow.
  for (const char* header : {"items=0-1", "bytes=0-1,5-6", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-2", "bytes=+1-2",
                             "bytes=99999999999999999999-", "bytes=1-2 "}) {
    CAPTURE(header);
    CHECK(byte_range(std::string_view(header), 100).kind == K::whole);
  }
}
