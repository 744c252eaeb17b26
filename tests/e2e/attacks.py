"""What an attacker does, for the catalogue's attack tests (test_bad_inputs.py): recover a
xoshiro256** generator's state from four of its outputs and predict the rest (the attack that
read every media token of hailer-server before its secrets came from the OS), and make media
proofs (docs/protocol.md, "Media endpoint") with a key, or without one."""

import hmac
import hashlib

MASK = (1 << 64) - 1


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def xoshiro_next(s):
    """One output of xoshiro256** and the state after it (s: four 64-bit words)."""
    out = (_rotl((s[1] * 5) & MASK, 7) * 9) & MASK
    t = (s[1] << 17) & MASK
    s2 = s[2] ^ s[0]
    s3 = s[3] ^ s[1]
    s1 = s[1] ^ s2
    s0 = s[0] ^ s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return out, [s0, s1, s2, s3]


def _inverse_output(y):
    """The word s[1] that produced output y (the output function is a bijection)."""
    v = (y * pow(9, -1, 1 << 64)) & MASK
    v = ((v >> 7) | (v << 57)) & MASK  # rotate right by 7
    return (v * pow(5, -1, 1 << 64)) & MASK


# Symbolically, a word is 64 linear forms over GF(2) in the 256 unknown state bits, each form a
# Python int used as a bit set.
def _sym_xor(a, b):
    return [x ^ y for x, y in zip(a, b)]


def _sym_shl(a, k):
    return [0] * k + a[:64 - k]


def _sym_rotl(a, k):
    return a[64 - k:] + a[:64 - k]


def _sym_step(s):
    t = _sym_shl(s[1], 17)
    s2 = _sym_xor(s[2], s[0])
    s3 = _sym_xor(s[3], s[1])
    s1 = _sym_xor(s[1], s2)
    s0 = _sym_xor(s[0], s3)
    s2 = _sym_xor(s2, t)
    s3 = _sym_rotl(s3, 45)
    return [s0, s1, s2, s3]


def recover_state(outputs):
    """The state before the first of four consecutive outputs, or None when no state gives them
    (the outputs did not come from one xoshiro256** in a row)."""
    sym = [[1 << (64 * w + i) for i in range(64)] for w in range(4)]
    rows = []
    for y in outputs:
        s1 = _inverse_output(y)
        rows += [(sym[1][i], (s1 >> i) & 1) for i in range(64)]
        sym = _sym_step(sym)
    # Gaussian elimination over GF(2); a row is (form, value).
    pivots = {}
    for form, value in rows:
        for bit, (pform, pvalue) in pivots.items():
            if form >> bit & 1:
                form ^= pform
                value ^= pvalue
        if form == 0:
            if value:
                return None  # inconsistent: not xoshiro outputs
            continue
        bit = form.bit_length() - 1
        for other in list(pivots):
            pform, pvalue = pivots[other]
            if pform >> bit & 1:
                pivots[other] = (pform ^ form, pvalue ^ value)
        pivots[bit] = (form, value)
    if len(pivots) < 256:
        return None
    words = [0, 0, 0, 0]
    for bit, (form, value) in pivots.items():
        assert form == 1 << bit
        words[bit // 64] |= value << (bit % 64)
    return words


def old_token_value(token):
    """The generator output an old 16-hex-digit media token was made of (low nibble first)."""
    return sum(int(c, 16) << (4 * i) for i, c in enumerate(token[:16]))


def old_token_text(value):
    return "".join("0123456789abcdef"[(value >> (4 * i)) & 0xF] for i in range(16))


def predict_tokens(observed, count):
    """The next `count` media tokens after four consecutive observed ones, as the server that made
    them with a seeded xoshiro256** would hand them out; [] when the observed tokens are not such
    outputs."""
    state = recover_state([old_token_value(t) for t in observed])
    if state is None:
        return []
    for _ in observed:
        _, state = xoshiro_next(state)
    out = []
    for _ in range(count):
        y, state = xoshiro_next(state)
        out.append(old_token_text(y))
    return out


def media_proof(key_hex, media_id, counter):
    """A media proof under a key: 'hailer-probe <id> <counter> <HMAC-SHA256 truncated to 128 bits>'."""
    signed = "hailer-probe %s %d" % (media_id, counter)
    mac = hmac.new(bytes.fromhex(key_hex), signed.encode(), hashlib.sha256).hexdigest()[:32]
    return ("%s %s" % (signed, mac)).encode()
