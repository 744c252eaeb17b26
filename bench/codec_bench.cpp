// The wire codec, per message type: strict decoding of every request a client sends and encoding
// of every message the server sends (the lines of docs/protocol.md, "Every message, as sent").
// Run: build/bench/hailer_bench --benchmark_filter=codec
#include <benchmark/benchmark.h>

#include <array>
#include <string_view>
#include <utility>

#include "base/assert.hpp"
#include "protocol/codec.hpp"

using namespace hailer;

namespace {

constexpr std::array<std::string_view, 15> requests{
    R"({"type":"register","id":1,"version":1,"name":"alice","media_port":5004})",
    R"({"type":"who","id":2})",
    R"({"type":"call","id":3,"to":"bob","auto_connect":true})",
    R"({"type":"accept","id":4,"call_id":7})",
    R"({"type":"reject","id":5,"call_id":7})",
    R"({"type":"hangup","id":6})",
    R"({"type":"cancel","id":7})",
    R"({"type":"cancel_wait","id":8})",
    R"({"type":"missed","id":9})",
    R"({"type":"ping","id":10})",
    R"({"type":"join","id":11,"version":1,"name":"ann","room":"class","role":"student","codec":"opus","sample_rate":48000})",
    R"({"type":"press","id":12})",
    R"({"type":"release","id":13})",
    R"({"type":"revoke","id":14})",
    R"({"type":"set_policy","id":15,"policy":"queue"})",
};

// Server messages with the reply kind an ok is decoded as (the client knows it from its request).
constexpr std::array<std::pair<std::string_view, ReplyKind>, 27> messages{{
    {R"({"type":"ok","id":1,"name":"alice","heartbeat_ms":30000,"media_token":"5f1c0a9e33b2d417","rendezvous_port":7701})",
     ReplyKind::registered},
    {R"({"type":"ok","id":2,"users":[{"name":"alice","state":"available","waiting":0},{"name":"bob","state":"in_call","waiting":1}]})",
     ReplyKind::who},
    {R"({"type":"ok","id":3,"call_id":7,"queued":false})", ReplyKind::call},
    {R"({"type":"ok","id":4})", ReplyKind::none},
    {R"({"type":"ok","id":9,"calls":[{"from":"carol","at_ms":93120}]})", ReplyKind::missed},
    {R"({"type":"ok","id":11,"room":"class","policy":"deny","talker":null,"members":[{"name":"teacher","role":"instructor"},{"name":"ann","role":"student"}],"max_talk_ms":60000})",
     ReplyKind::room},
    {R"({"type":"error","id":3,"code":"user_not_found","message":"no connected user has that name: zed"})",
     ReplyKind::none},
    {R"({"type":"media_ready","address":"198.51.100.2","port":40000})", ReplyKind::none},
    {R"({"type":"call_ringing","call_id":7,"peer":"bob","role":"caller"})", ReplyKind::none},
    {R"({"type":"call_connected","call_id":7,"peer":"bob","peer_media":{"address":"198.51.100.2","port":5004}})",
     ReplyKind::none},
    {R"({"type":"call_ended","call_id":7,"peer":"bob","reason":"hangup","by":"bob"})", ReplyKind::none},
    {R"({"type":"missed_call","from":"carol","at_ms":93120})", ReplyKind::none},
    {R"({"type":"wait_update","callee":"bob","position":2,"status":"queued"})", ReplyKind::none},
    {R"({"type":"callee_available","callee":"bob","window_ms":15000,"auto_connect":false})", ReplyKind::none},
    {R"({"type":"wait_ended","callee":"bob","reason":"completed"})", ReplyKind::none},
    {R"({"type":"waiting_count","count":2})", ReplyKind::none},
    {R"({"type":"floor_granted","remaining_ms":60000})", ReplyKind::none},
    {R"({"type":"floor_denied","reason":"floor_taken","talker":"ann"})", ReplyKind::none},
    {R"({"type":"floor_queued","position":1})", ReplyKind::none},
    {R"({"type":"floor_taken","talker":"ann"})", ReplyKind::none},
    {R"({"type":"floor_idle"})", ReplyKind::none},
    {R"({"type":"floor_revoked","reason":"max_talk_time"})", ReplyKind::none},
    {R"({"type":"floor_dequeued","reason":"released"})", ReplyKind::none},
    {R"({"type":"member_joined","name":"ben","role":"student"})", ReplyKind::none},
    {R"({"type":"member_left","name":"ben"})", ReplyKind::none},
    {R"({"type":"policy_changed","policy":"queue"})", ReplyKind::none},
    {R"({"type":"server_closing"})", ReplyKind::none},
}};

// Strict decoding of one request (UTF-8 check, parse, every field checked), as the server does.
void codec_decode(benchmark::State& state) {
  const std::string_view text = requests[static_cast<std::size_t>(state.range(0))];
  HAILER_ASSERT(std::holds_alternative<Request>(decode_request(text, 4096)));
  state.SetLabel(std::string(request_type(std::get<Request>(decode_request(text, 4096)).body)));
  for (auto _ : state) benchmark::DoNotOptimize(decode_request(text, 4096));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(codec_decode)->DenseRange(0, requests.size() - 1);

// Encoding one server message into a fresh string, as the host does before sending it.
void codec_encode(benchmark::State& state) {
  const auto& [text, kind] = messages[static_cast<std::size_t>(state.range(0))];
  const auto decoded = decode_server_message(text, any_reply_is(kind), 1u << 16);
  HAILER_ASSERT(std::holds_alternative<ServerMessage>(decoded));
  const ServerMessage m = std::get<ServerMessage>(decoded);
  HAILER_ASSERT(encode(m) == text);  // the bench encodes exactly the documented line
  state.SetLabel(std::string(message_type(m)) +
                 (kind == ReplyKind::none ? "" : "/" + std::to_string(static_cast<int>(kind))));
  for (auto _ : state) benchmark::DoNotOptimize(encode(m));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(codec_encode)->DenseRange(0, messages.size() - 1);

// Encoding into a buffer kept from message to message, as ServerHost does (no allocation).
void codec_encode_into(benchmark::State& state) {
  const auto& [text, kind] = messages[static_cast<std::size_t>(state.range(0))];
  const auto decoded = decode_server_message(text, any_reply_is(kind), 1u << 16);
  HAILER_ASSERT(std::holds_alternative<ServerMessage>(decoded));
  const ServerMessage m = std::get<ServerMessage>(decoded);
  std::string out;
  encode_to(out, m);
  HAILER_ASSERT(out == text);
  state.SetLabel(std::string(message_type(m)) +
                 (kind == ReplyKind::none ? "" : "/" + std::to_string(static_cast<int>(kind))));
  for (auto _ : state) {
    out.clear();
    encode_to(out, m);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(codec_encode_into)->DenseRange(0, messages.size() - 1);

}  // namespace
