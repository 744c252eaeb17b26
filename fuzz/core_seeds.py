#!/usr/bin/env python3
"""Writes the seeds of fuzz_core (fuzz/corpus/fuzz_core/): short stories in the harness's byte
language that reach the deep states a fuzzer rarely finds alone: a connected call with media
proofs, a full waiting queue, a recall window that expires, a full room, a wrong instructor
token, a full floor queue, revoke, policy switch, silence and talk-time revocations, shutdown.
The fuzzer mutates from there. Keep in step with fuzz_core.cpp (the byte meanings below).
    python3 fuzz/core_seeds.py fuzz/corpus/fuzz_core"""

import os
import sys

# fuzz_core.cpp vocabulary: names[] and rooms[], request kinds (request_text's switch).
ANN, BOB, CAT, DAN, BAD_NAME = 0, 1, 2, 3, 5
R1, R2 = 0, 1
REGISTER, CALL, CALL_AUTO, ACCEPT, REJECT, HANGUP, CANCEL, CANCEL_WAIT, WHO, MISSED, PING = range(11)
JOIN, JOIN_INSTRUCTOR, PRESS, RELEASE, REVOKE, SET_POLICY, ACCEPT_ID, MALFORMED = range(11, 19)
OP_OPEN, OP_TEXT, OP_BINARY, OP_DATAGRAM, OP_CLOSE, OP_ADVANCE, OP_SHUTDOWN = 0, 1, 6, 7, 8, 9, 10


class Story:
    """Bytes for fuzz_core, tracking the open sessions the way the harness picks them."""

    def __init__(self, max_sessions=8, waiters=1, floor_queue=1, room_members=4, rooms=1, missed=1,
                 token=True, queue_policy=False, long_silence=False):
        self.b = bytearray([max_sessions - 3, waiters - 1, floor_queue - 1, room_members - 2, rooms - 1,
                            missed - 1, int(token), int(queue_policy) | 2 * int(long_silence)])
        self.open = []  # session numbers, sorted (std::set order)
        self.next = 1

    def connect(self):
        self.b += bytes([OP_OPEN, len(self.open) % 3])
        self.open.append(self.next)
        self.next += 1
        return self.next - 1

    def request(self, s, kind, name=ANN, other=ANN, room=R1, extra=()):
        self.b += bytes([OP_TEXT, self.open.index(s), name, other, room, kind, *extra])

    def audio(self, s, seq, loud=True, last=False):
        level = 0x40 if loud else 0  # 32 samples of PCM at -6 dBFS (or zeros)
        self.b += bytes([OP_BINARY, self.open.index(s), 0, 64]) + bytes([level]) * 64
        self.b += bytes([seq >> 8, seq & 0xFF, int(last)])

    def probe(self, token_index, port=0):
        self.b += bytes([OP_DATAGRAM, 1, token_index, port])

    def close(self, s):
        self.b += bytes([OP_CLOSE, self.open.index(s), 0])
        self.open.remove(s)

    def advance(self, ms):
        while ms > 0:
            step = min(ms, 255 * 20)
            self.b += bytes([OP_ADVANCE, step // 20])
            ms -= step

    def shutdown(self):
        self.b += bytes([OP_SHUTDOWN])
        self.open.clear()


def calls_connect_wait_and_recall():
    s = Story(waiters=1)
    ann, bob, cat, dan = (s.connect() for _ in range(4))
    for who, name in ((ann, ANN), (bob, BOB), (cat, CAT), (dan, DAN)):
        s.request(who, REGISTER, name=name)
    s.probe(0)
    s.probe(1)
    s.request(ann, CALL, other=BOB)
    s.request(bob, ACCEPT)                 # call_connected, with the proven endpoints
    s.request(cat, CALL, other=ANN)        # queued: wait_update, waiting_count
    s.request(dan, CALL, other=ANN)        # queue_full (one waiter per callee)
    s.request(ann, WHO)
    s.request(bob, HANGUP)                 # callee_available to cat
    s.advance(600)                         # the recall window (500 ms) passes: window_expired
    s.request(dan, CALL, other=BOB)
    s.advance(1100)                        # rings out: call_ended no_answer, missed_call
    s.request(bob, MISSED)
    s.request(cat, CALL_AUTO, other=DAN)
    s.request(dan, CALL, other=ANN)
    s.request(ann, CALL, other=CAT)        # caller_busy or queued behind a ringing callee
    s.request(cat, CANCEL_WAIT)
    s.close(dan)                           # peer_disconnected, callee_offline
    s.advance(6000)                        # waits expire
    s.shutdown()
    return s


def calls_waiters_told_on_every_ending():
    s = Story(waiters=3)
    ann, bob, cat, dan = (s.connect() for _ in range(4))
    for who, name in ((ann, ANN), (bob, BOB), (cat, CAT), (dan, DAN)):
        s.request(who, REGISTER, name=name)
    s.request(ann, CALL, other=BOB)
    s.request(cat, CALL_AUTO, other=BOB)   # waits with auto_connect
    s.request(dan, CALL, other=ANN)
    s.request(bob, REJECT)                 # rejected: cat is rung at once (auto_connect)
    s.request(bob, ACCEPT_ID, extra=(1,))
    s.request(ann, CANCEL)
    s.request(bob, ACCEPT)
    s.request(cat, HANGUP)
    s.request(dan, CANCEL_WAIT)
    s.request(ann, CALL, other=ANN)        # self_call
    s.request(ann, CALL, other=DAN)
    s.request(ann, CANCEL)
    s.advance(3500)                        # heartbeats
    s.request(ann, PING)
    return s


def floor_queue_deny_revoke_and_talk_limits():
    s = Story(floor_queue=1, room_members=4, rooms=1, token=True, queue_policy=True)
    ann, bob, cat, teacher = (s.connect() for _ in range(4))
    s.request(ann, JOIN, name=ANN)
    s.request(bob, JOIN, name=BOB)
    s.request(cat, JOIN, name=CAT)
    s.request(teacher, JOIN_INSTRUCTOR, name=DAN, extra=(1,))   # token "t": ok
    s.request(ann, PRESS)                                       # granted
    s.request(bob, PRESS)                                       # queued
    s.request(cat, PRESS)                                       # denied: queue_full
    s.request(teacher, PRESS)                                   # receive_only
    for seq in range(5):
        s.audio(ann, seq)
    s.request(ann, RELEASE)                                     # bob granted
    s.audio(bob, 0)
    s.request(cat, PRESS)
    s.request(teacher, SET_POLICY, extra=(0,))                  # deny: cat dequeued
    s.request(teacher, REVOKE)                                  # bob revoked by the instructor
    s.request(ann, REVOKE)                                      # not_instructor
    s.request(cat, PRESS)
    s.advance(800)                                              # silence
    s.request(ann, CALL, other=BOB)                             # wrong_face
    s.close(ann)
    s.shutdown()
    return s


def floor_max_talk_time_and_shutdown_while_talking():
    s = Story(long_silence=True, queue_policy=True, floor_queue=2)
    ann, bob = s.connect(), s.connect()
    s.request(ann, JOIN, name=ANN)
    s.request(bob, JOIN, name=BOB)
    s.request(ann, PRESS)
    s.request(bob, PRESS)
    for seq in range(3):
        s.audio(ann, seq)
    s.advance(2000)                                             # max_talk_time: bob granted
    s.request(ann, PING)
    s.request(bob, PING)
    s.audio(bob, 0)
    s.shutdown()                                                # while bob talks
    return s


def room_limits_and_tokens():
    s = Story(room_members=2, rooms=1, token=True)
    ann, bob, cat = (s.connect() for _ in range(3))
    s.request(ann, JOIN, name=ANN)
    s.request(cat, JOIN_INSTRUCTOR, name=CAT, extra=(0,))       # token "x": bad_token
    s.request(bob, JOIN, name=BOB)
    s.request(cat, JOIN, name=CAT)                              # room_full
    s.request(cat, JOIN, name=CAT, room=R2)                     # too_many_rooms
    s.request(ann, WHO)
    s.close(bob)
    s.request(cat, JOIN, name=CAT)
    s.advance(3500)                                             # heartbeat_timeout for everyone
    return s


def calls_waits_end_by_expiry_and_offline_callee():
    s = Story(waiters=2)
    ann, bob, cat = (s.connect() for _ in range(3))
    for who, name in ((ann, ANN), (bob, BOB), (cat, CAT)):
        s.request(who, REGISTER, name=name)
    s.request(ann, CALL, other=BOB)
    s.request(bob, ACCEPT)
    s.request(cat, CALL, other=BOB)                             # waits for bob
    for _ in range(3):                                          # pings keep everyone alive
        s.advance(2000)
        for who in (ann, bob, cat):
            s.request(who, PING)
    s.request(cat, CALL, other=ANN)                             # already_waiting
    s.advance(200)
    for who in (ann, bob, cat):
        s.request(who, PING)
    s.request(cat, CANCEL_WAIT)
    s.request(cat, CALL, other=ANN)
    s.close(ann)                                                # callee_offline, peer_disconnected
    return s


def mixed_faces_and_bad_names():
    s = Story(max_sessions=3, token=False)
    a, b, c = (s.connect() for _ in range(3))
    s.connect()                                                 # server_full: closed by the server
    s.open.pop()
    s.request(a, REGISTER, name=BAD_NAME)                       # bad_name
    s.request(a, CALL, other=BOB)                               # not_registered
    s.request(a, REGISTER, name=ANN)
    s.request(a, REGISTER, name=ANN)                            # already_registered
    s.request(b, REGISTER, name=ANN)                            # name_taken
    s.request(b, JOIN, name=BOB)
    s.request(b, PRESS)
    s.request(c, JOIN_INSTRUCTOR, name=CAT, extra=(0,))         # no token configured: ok
    s.request(c, REVOKE)
    s.request(a, PRESS)                                         # wrong_face
    s.request(a, CALL, other=DAN)                               # user_not_found
    s.request(a, HANGUP)                                        # not_in_call
    s.request(a, CANCEL)                                        # no_outgoing_call
    s.request(a, CANCEL_WAIT)                                   # not_waiting
    s.request(a, ACCEPT)                                        # no_pending_call
    for m in range(6):  # missing_field, bad_field, unknown_type, unsupported_version, bad_room, too large
        s.request(a, MALFORMED, extra=(m,))
    s.close(b)
    d = s.connect()                                             # a fresh session, not registered yet
    s.request(d, MALFORMED, extra=(3,))                         # unsupported_version
    s.request(d, MALFORMED, extra=(4,))                         # bad_room
    s.advance(4000)
    return s


STORIES = [calls_connect_wait_and_recall, calls_waiters_told_on_every_ending,
           calls_waits_end_by_expiry_and_offline_callee, floor_queue_deny_revoke_and_talk_limits,
           floor_max_talk_time_and_shutdown_while_talking,
           room_limits_and_tokens, mixed_faces_and_bad_names]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "fuzz_core")
    os.makedirs(out, exist_ok=True)
    for story in STORIES:
        with open(os.path.join(out, "story_" + story.__name__), "wb") as f:
            f.write(bytes(story().b))


if __name__ == "__main__":
    main()
