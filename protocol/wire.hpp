// The message table of the wire protocol: every request, reply and event with its wire name and
// its fields, listed once for reading and writing. It reads beside docs/protocol.md, whose
// examples a test decodes and re-encodes through it (protocol_doc_test). Internal to codec.cpp,
// which includes it once.
#pragma once

#include "protocol/codec_fields.hpp"

namespace hailer::codec_detail {

// Wire<T> gives each message its wire name and lists its fields once; `fields` serves reading
// (IO = Reader, M = T) and writing (IO = Writer, M = const T), so the two directions cannot
// drift apart. Requests also say where they may be sent and what their ok reply carries.

constexpr int64_t no_min = std::numeric_limits<int64_t>::min();
constexpr uint64_t int64_top = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr uint64_t u16_top = 65535;
constexpr uint64_t u32_top = std::numeric_limits<uint32_t>::max();

// ---------------------------------------------------------------- requests

template <>
struct Wire<RegisterRequest> {
  static constexpr std::string_view name = "register";
  static constexpr RequestScope scope = RequestScope::hello;
  static constexpr ReplyKind reply = ReplyKind::registered;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("version", m.version, no_min, int64_top);
    io.text("name", m.name);
    io.number_or("media_port", m.media_port, 0, u16_top, uint16_t{0}, true);
    io.text_opt("key", m.key, OmitEmpty{});
    io.text_opt("signature", m.signature, OmitEmpty{});
    io.text_opt("invite", m.invite, OmitEmpty{});
  }
};
template <>
struct Wire<WhoRequest> {
  static constexpr std::string_view name = "who";
  static constexpr RequestScope scope = RequestScope::any;
  static constexpr ReplyKind reply = ReplyKind::who;  // room on a PTT session: see reply_kind()
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
template <>
struct Wire<CallRequest> {
  static constexpr std::string_view name = "call";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::call;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("to", m.to);
    io.flag_opt("auto_connect", m.auto_connect);
  }
};
template <>
struct Wire<AcceptRequest> {
  static constexpr std::string_view name = "accept";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number_opt("call_id", m.call_id, 0, max_request_id);
  }
};
template <>
struct Wire<RejectRequest> {
  static constexpr std::string_view name = "reject";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number_opt("call_id", m.call_id, 0, max_request_id);
  }
};

template <>
struct Wire<MediaKeyRequest> {
  static constexpr std::string_view name = "media_key";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("key", m.key);
    io.text("account_key", m.account_key);
    io.text("signature", m.signature);
  }
};

template <>
struct Wire<AddKeyRequest> {
  static constexpr std::string_view name = "add_key";
  static constexpr RequestScope scope = RequestScope::calls;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("key", m.key);
  }
};

// Requests without fields share one shape.
template <typename T, const std::string_view& Name, RequestScope Scope, ReplyKind Reply = ReplyKind::none>
struct EmptyRequestWire {
  static constexpr std::string_view name = Name;
  static constexpr RequestScope scope = Scope;
  static constexpr ReplyKind reply = Reply;
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
inline constexpr std::string_view hangup_name = "hangup", cancel_name = "cancel", cancel_wait_name = "cancel_wait",
                                  ping_name = "ping", press_name = "press", release_name = "release",
                                  revoke_name = "revoke", missed_name = "missed",
                                  channel_binding_name = "channel_binding";
template <>
struct Wire<HangupRequest> : EmptyRequestWire<HangupRequest, hangup_name, RequestScope::calls> {};
template <>
struct Wire<CancelRequest> : EmptyRequestWire<CancelRequest, cancel_name, RequestScope::calls> {};
template <>
struct Wire<CancelWaitRequest> : EmptyRequestWire<CancelWaitRequest, cancel_wait_name, RequestScope::calls> {};
template <>
struct Wire<PingRequest> : EmptyRequestWire<PingRequest, ping_name, RequestScope::any> {};
template <>
struct Wire<PressRequest> : EmptyRequestWire<PressRequest, press_name, RequestScope::ptt> {};
template <>
struct Wire<ReleaseRequest> : EmptyRequestWire<ReleaseRequest, release_name, RequestScope::ptt> {};
template <>
struct Wire<RevokeRequest> : EmptyRequestWire<RevokeRequest, revoke_name, RequestScope::ptt> {};

template <>
struct Wire<MissedRequest> : EmptyRequestWire<MissedRequest, missed_name, RequestScope::calls, ReplyKind::missed> {};
template <>
struct Wire<ChannelBindingRequest>
    : EmptyRequestWire<ChannelBindingRequest, channel_binding_name, RequestScope::any, ReplyKind::channel_binding> {};
template <>
struct Wire<JoinRequest> {
  static constexpr std::string_view name = "join";
  static constexpr RequestScope scope = RequestScope::hello;
  static constexpr ReplyKind reply = ReplyKind::room;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("version", m.version, no_min, int64_top);
    io.text("name", m.name);
    io.text("room", m.room);
    io.choice_or("role", m.role, Role::student);
    io.choice_or("codec", m.codec, AudioCodec::pcm16);
    // A browser's AudioContext runs at 8-192 kHz; anything else is not a sample rate.
    io.number_or("sample_rate", m.sample_rate_hz, 8'000, 192'000, uint32_t{48'000}, false);
    io.text_opt("token", m.token, OmitEmpty{});
  }
};
template <>
struct Wire<SetPolicyRequest> {
  static constexpr std::string_view name = "set_policy";
  static constexpr RequestScope scope = RequestScope::ptt;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("policy", m.policy);
  }
};
// Instructor requests naming one student share one shape.
template <const std::string_view& Name>
struct NamedRequestWire {
  static constexpr std::string_view name = Name;
  static constexpr RequestScope scope = RequestScope::ptt;
  static constexpr ReplyKind reply = ReplyKind::none;
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
  }
};
inline constexpr std::string_view grant_name = "grant", skip_name = "skip";
template <>
struct Wire<GrantRequest> : NamedRequestWire<grant_name> {};
template <>
struct Wire<SkipRequest> : NamedRequestWire<skip_name> {};

// ---------------------------------------------------------------- reply data and parts

template <>
struct Wire<std::monostate> {
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
template <>
struct Wire<RegisteredData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.number("heartbeat_ms", m.heartbeat_ms, 1, int64_top);
    io.text_opt("media_token", m.media_token, OmitEmpty{});
    io.text_opt("media_id", m.media_id, OmitEmpty{});
    io.number_opt("rendezvous_port", m.rendezvous_port, 1, u16_top);
  }
};
template <>
struct Wire<CallData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number_opt("call_id", m.call_id, 0, max_request_id);
    io.flag("queued", m.queued);
  }
};
template <>
struct Wire<UserInfo> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.choice("state", m.state);
    io.number("waiting", m.waiting, 0, u32_top);
    io.flag_opt("in_line", m.in_line);
  }
};
template <>
struct Wire<WhoData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.list("users", m.users);
  }
};
template <>
struct Wire<MissedCallInfo> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("from", m.from);
    io.number("at_ms", m.at_ms, 0, int64_top);
  }
};
template <>
struct Wire<MissedData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.list("calls", m.calls);
    io.number_opt("now_ms", m.now_ms, 0, int64_top);
  }
};
template <>
struct Wire<ChannelBindingData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("binding", m.binding);
  }
};
template <>
struct Wire<MemberInfo> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.choice("role", m.role);
  }
};
template <>
struct Wire<RoomData> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("room", m.room);
    io.choice("policy", m.policy);
    io.text_opt("talker", m.talker, NullEmpty{});
    io.list("members", m.members);
    io.number("max_talk_ms", m.max_talk_ms, 1, int64_top);
  }
};
template <>
struct Wire<MediaEndpoint> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("address", m.address);
    io.number("port", m.port, 0, u16_top);
  }
};

// ---------------------------------------------------------------- server messages

template <>
struct Wire<OkReply> {
  static constexpr std::string_view name = "ok";
};
template <>
struct Wire<ErrorReply> {
  static constexpr std::string_view name = "error";
};
template <>
struct Wire<MediaReady> {
  static constexpr std::string_view name = "media_ready";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("address", m.address);
    io.number("port", m.port, 1, u16_top);
  }
};
template <>
struct Wire<CallRinging> {
  static constexpr std::string_view name = "call_ringing";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("peer", m.peer);
    io.choice("role", m.role);
  }
};
template <>
struct Wire<CallConnected> {
  static constexpr std::string_view name = "call_connected";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("peer", m.peer);
    io.object("peer_media", m.peer_media);
    io.number_opt("relay_port", m.relay_port, 1, u16_top);
  }
};
template <>
struct Wire<PeerMediaKey> {
  static constexpr std::string_view name = "peer_media_key";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("peer", m.peer);
    io.text("key", m.key);
    io.text("account_key", m.account_key);
    io.text("signature", m.signature);
  }
};
template <>
struct Wire<CallEnded> {
  static constexpr std::string_view name = "call_ended";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.text("peer", m.peer);
    io.choice("reason", m.reason);
    io.text_opt("by", m.by, NullEmpty{});
  }
};
template <>
struct Wire<MissedCall> {
  static constexpr std::string_view name = "missed_call";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("from", m.from);
    io.number("at_ms", m.at_ms, 0, int64_top);
  }
};
template <>
struct Wire<WaitUpdate> {
  static constexpr std::string_view name = "wait_update";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("callee", m.callee);
    io.number("position", m.position, 1, u32_top);
    io.choice("status", m.status);
  }
};
template <>
struct Wire<CalleeAvailable> {
  static constexpr std::string_view name = "callee_available";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("callee", m.callee);
    io.number("window_ms", m.window_ms, 0, int64_top);
    io.flag("auto_connect", m.auto_connect);
  }
};
template <>
struct Wire<WaitEnded> {
  static constexpr std::string_view name = "wait_ended";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("callee", m.callee);
    io.choice("reason", m.reason);
  }
};
template <>
struct Wire<WaitingCount> {
  static constexpr std::string_view name = "waiting_count";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("count", m.count, 0, u32_top);
  }
};
template <>
struct Wire<FloorGranted> {
  static constexpr std::string_view name = "floor_granted";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("remaining_ms", m.remaining_ms, 0, int64_top);
  }
};
template <>
struct Wire<FloorDenied> {
  static constexpr std::string_view name = "floor_denied";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("reason", m.reason);
    io.text_opt("talker", m.talker, NullEmpty{});
  }
};
template <>
struct Wire<FloorQueued> {
  static constexpr std::string_view name = "floor_queued";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("position", m.position, 1, u32_top);
  }
};
template <>
struct Wire<FloorTaken> {
  static constexpr std::string_view name = "floor_taken";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("talker", m.talker);
  }
};
template <>
struct Wire<FloorIdle> {
  static constexpr std::string_view name = "floor_idle";
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};
template <>
struct Wire<FloorRevoked> {
  static constexpr std::string_view name = "floor_revoked";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("reason", m.reason);
  }
};
template <>
struct Wire<FloorDequeued> {
  static constexpr std::string_view name = "floor_dequeued";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("reason", m.reason);
  }
};
template <>
struct Wire<QueueEntry> {
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
  }
};
template <>
struct Wire<FloorQueue> {
  static constexpr std::string_view name = "floor_queue";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.list("queue", m.queue);
  }
};
template <>
struct Wire<MemberJoined> {
  static constexpr std::string_view name = "member_joined";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
    io.choice("role", m.role);
  }
};
template <>
struct Wire<MemberLeft> {
  static constexpr std::string_view name = "member_left";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("name", m.name);
  }
};
template <>
struct Wire<PolicyChanged> {
  static constexpr std::string_view name = "policy_changed";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.choice("policy", m.policy);
  }
};

template <>
struct Wire<RecordingStopped> {
  static constexpr std::string_view name = "recording_stopped";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.text("talker", m.talker);
    io.choice("reason", m.reason);
  }
};

template <>
struct Wire<RelayDropped> {
  static constexpr std::string_view name = "relay_dropped";
  template <typename IO, typename M>
  static void fields(IO& io, M& m) {
    io.number("call_id", m.call_id, 1, max_request_id);
    io.choice("reason", m.reason);
  }
};

template <>
struct Wire<ServerClosing> {
  static constexpr std::string_view name = "server_closing";
  template <typename IO, typename M>
  static void fields(IO&, M&) {}
};

}  // namespace hailer::codec_detail
