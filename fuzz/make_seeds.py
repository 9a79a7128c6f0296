#!/usr/bin/env python3
"""Write the seed corpus of the ws-proto fuzz targets.

    python3 fuzz/make_seeds.py

Rewrites fuzz/corpus/<target>/seed-* (the only corpus files git keeps).
Each target reads its input through `arbitrary`, so a seed is the target's
fixed-size prefix (flags, read sizes, ...) followed by the bytes of the
stream: see the `Input` struct of each target in fuzz_targets/.

Read-size codes (`Chunks` in fuzz/src/lib.rs): 0 = the rest, 1-127 = that
many bytes, 0x80-0x8f = 1-16 bytes.
"""

import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# RFC 6455 section 5.7 masking key.
RFC_KEY = bytes([0x37, 0xFA, 0x21, 0x3D])

ONE_READ = bytes(8)  # everything in one read
BYTEWISE = bytes([0x80] * 8)  # one byte per read
MIXED = bytes([3, 0x81, 17, 0x80, 0, 5, 0x8F, 2])


def mask(payload, key):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload=b"", fin=True, key=None, rsv=0, length_form=None):
    """One frame. `length_form` forces 7, 16 or 64-bit length encoding."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    form = length_form or (7 if n <= 125 else 16 if n <= 0xFFFF else 64)
    mask_bit = 0x80 if key is not None else 0
    if form == 7:
        head += bytes([mask_bit | n])
    elif form == 16:
        head += bytes([mask_bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack(">Q", n)
    if key is None:
        return head + payload
    return head + key + mask(payload, key)


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10


def frame_streams(key):
    """Frame byte streams; `key` None for server-to-client (unmasked)."""
    def f(*args, **kw):
        return frame(*args, key=key, **kw)

    hello = "Hello".encode()
    cosmos = "κόσμε €𝄞".encode()
    s = {
        "hello": f(TEXT, hello),
        "fragmented-hel-lo": f(TEXT, b"Hel", fin=False) + f(CONT, b"lo"),
        "ping-hello": f(PING, hello),
        "pong-hello": f(PONG, hello),
        "binary-256": f(BINARY, bytes(range(256))),
        # 64 KiB binary frame: the header and the first bytes of payload.
        "binary-64k-head": f(BINARY, bytes(65536))[: (14 if key else 10) + 32],
        "binary-empty": f(BINARY),
        "text-empty": f(TEXT),
        "close-empty": f(CLOSE),
        "close-1000-bye": f(CLOSE, close_payload(1000, b"bye")),
        "close-1001": f(CLOSE, close_payload(1001)),
        "close-1002-reason": f(CLOSE, close_payload(1002, b"protocol error")),
        "close-1011": f(CLOSE, close_payload(1011, b"unexpected")),
        "close-3000-utf8": f(CLOSE, close_payload(3000, "déjà vu €".encode())),
        "close-4999-long": f(CLOSE, close_payload(4999, b"r" * 123)),
        "close-1005-forbidden": f(CLOSE, close_payload(1005)),
        "close-one-byte": f(CLOSE, b"\x03"),
        "close-bad-utf8": f(CLOSE, close_payload(1000, b"\xce\xba\xe1\xbd")),
        "text-utf8-split-with-ping": f(TEXT, cosmos[:3], fin=False)
        + f(PING, b"mid")
        + f(CONT, cosmos[3:9], fin=False)
        + f(PONG)
        + f(CONT, cosmos[9:]),
        "text-invalid-utf8": f(TEXT, b"ok\xed\xa0\x80"),
        "text-truncated-utf8": f(TEXT, b"ok\xe2\x82"),
        "every-type": f(TEXT, b"text")
        + f(BINARY, b"\x00\x01\x02")
        + f(BINARY, b"frag", fin=False)
        + f(CONT, b"ment", fin=False)
        + f(PING, b"p")
        + f(CONT, b"ed")
        + f(PONG, b"q")
        + f(CLOSE, close_payload(1000, b"done"))
        + f(TEXT, b"after close"),
        "reserved-opcode-3": f(3, b"x"),
        "reserved-opcode-11": f(11, b"x"),
        "rsv2-set": f(TEXT, b"x", rsv=2),
        "rsv1-compressed": f(TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=4)
        + f(BINARY, b"x", rsv=4),
        "ping-fragmented": f(PING, b"x", fin=False),
        "ping-126": f(PING, b"p" * 126),
        "ping-125-len64": f(PING, b"p" * 125, length_form=64),
        "length-top-bit": f(BINARY)[:1]
        + bytes([(0x80 if key else 0) | 127])
        + b"\x80" + bytes(7) + (key or b""),
        "hello-len16": f(TEXT, hello, length_form=16),
        "continuation-first": f(CONT, b"x"),
        "text-during-fragment": f(TEXT, b"a", fin=False) + f(TEXT, b"b"),
        "many-small": b"".join(f(BINARY, bytes([i])) for i in range(40)),
    }
    return s


def http(lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


RFC_REQUEST = [
    "GET /chat HTTP/1.1",
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Origin: http://example.com",
    "Sec-WebSocket-Protocol: chat, superchat",
    "Sec-WebSocket-Version: 13",
]

RFC_RESPONSE = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
]


# The masked text frame "SMUGGLED" (mask 01 02 03 04), sent as a body.
SMUGGLED = frame(TEXT, b"SMUGGLED", key=bytes([1, 2, 3, 4]))


def requests():
    ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
    return {
        "rfc": http(RFC_REQUEST),
        "rfc-extensions": http(RFC_REQUEST + [ext, "Sec-WebSocket-Extensions: x-other"]),
        "all-headers": http(
            [
                "GET /chat?room=1 HTTP/1.1",
                "Host: server.example.com:8080",
                "User-Agent: fuzz",
                "Upgrade: websocket",
                "Connection: keep-alive, Upgrade",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version: 13",
                "Origin: https://example.com",
                "Sec-WebSocket-Protocol: chat",
                "Sec-WebSocket-Protocol: superchat, mqtt",
                ext,
                "Cookie: a=b",
            ]
        ),
        "case-and-space": http(
            [
                "GET / HTTP/1.1",
                "host: h",
                "UPGRADE: WebSocket",
                "connection: upgrade",
                "sec-websocket-key:   dGhlIHNhbXBsZSBub25jZQ==  ",
                "SEC-WEBSOCKET-VERSION: 13",
            ]
        ),
        "bare-lf": ("\n".join(RFC_REQUEST) + "\n\n").encode(),
        "with-frame": http(RFC_REQUEST) + frame(TEXT, b"hello", key=RFC_KEY),
        "post": http(["POST /chat HTTP/1.1"] + RFC_REQUEST[1:]),
        "version-12": http(RFC_REQUEST[:-1] + ["Sec-WebSocket-Version: 12"]),
        "no-key": http(RFC_REQUEST[:4] + RFC_REQUEST[5:]),
        "bad-key": http(
            RFC_REQUEST[:4] + ["Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR=="] + RFC_REQUEST[5:]
        ),
        "http10": http(["GET /chat HTTP/1.0"] + RFC_REQUEST[1:]),
        "over-cap": http(RFC_REQUEST[:2] + ["X-Filler: " + "v" * 600] + RFC_REQUEST[2:]),
        # A body on the upgrade request is refused (400): the bytes after
        # the head are frames, which a proxy would take for the body.
        "body-content-length": http(RFC_REQUEST + ["Content-Length: 14"]) + SMUGGLED,
        "body-chunked": http(RFC_REQUEST + ["Transfer-Encoding: chunked"])
        + b"e\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
        "content-length-0": http(RFC_REQUEST + ["Content-Length: 0"]),
        # Singleton headers repeated, and request targets (400 but for the
        # absolute-form, whose authority is the host).
        "duplicate-host": http(RFC_REQUEST + ["Host: evil.example"]),
        "duplicate-version": http(RFC_REQUEST + ["Sec-WebSocket-Version: 8"]),
        "absolute-form": http(["GET ws://example.com/chat HTTP/1.1"] + RFC_REQUEST[1:]),
        "absolute-form-http": http(["GET http://example.com:8080/chat?room=1 HTTP/1.1"] + RFC_REQUEST[1:]),
        "asterisk": http(["GET * HTTP/1.1"] + RFC_REQUEST[1:]),
    }


def responses():
    return {
        "rfc": http(RFC_RESPONSE),
        "chat": http(RFC_RESPONSE + ["Sec-WebSocket-Protocol: chat"]),
        "deflate": http(
            RFC_RESPONSE
            + ["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"]
        ),
        "all-headers": http(
            [
                "HTTP/1.1 101 Switching Protocols",
                "Server: fuzz",
                "upgrade: WebSocket",
                "connection: keep-alive, upgrade",
                "sec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= ",
                "Sec-WebSocket-Protocol: superchat",
                "Sec-WebSocket-Extensions: permessage-deflate",
                "Sec-WebSocket-Extensions: x-webkit-deflate-frame",
            ]
        ),
        "with-frame": http(RFC_RESPONSE) + frame(TEXT, b"hi"),
        "two-protocols": http(RFC_RESPONSE + ["Sec-WebSocket-Protocol: chat, superchat"]),
        "bad-accept": http(RFC_RESPONSE[:3] + ["Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="]),
        "status-200": http(["HTTP/1.1 200 OK", "Content-Length: 0"]),
        "refusal-426": http(
            ["HTTP/1.1 426 Upgrade Required", "Sec-WebSocket-Version: 13", "Connection: close"]
        ),
        "over-cap": http(RFC_RESPONSE + ["X-Filler: " + "v" * 600]),
        # Singleton headers repeated: refused even when the first is right.
        "two-accepts": http(RFC_RESPONSE + ["Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="]),
        "two-protocol-lines": http(
            RFC_RESPONSE + ["Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"]
        ),
    }


TEXTS = {
    "ascii": b"Hello, world",
    "kosme": "κόσμε".encode(),
    "mixed": "aé€𝄞z".encode(),
    "overlong": b"\xc0\xaf",
    "surrogate": b"ab\xed\xa0\x80",
    "above-10ffff": b"\xf4\x90\x80\x80",
    "truncated": b"ok\xe2\x82",
    "bad-continuation": b"\xe2\x82A",
    "ff": b"ok\xff",
    "autobahn-6.4.1": "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"edited",
}


def write(target, name, data):
    path = os.path.join(CORPUS, target, "seed-" + name)
    with open(path, "wb") as out:
        out.write(data)


def main():
    for target in (
        "frame_decoder",
        "connection",
        "server_handshake",
        "client_handshake",
        "utf8",
        "mask",
        "deflate",
    ):
        folder = os.path.join(CORPUS, target)
        os.makedirs(folder, exist_ok=True)
        for old in os.listdir(folder):
            if old.startswith("seed-"):
                os.remove(os.path.join(folder, old))

    # frame_decoder: flags, 8 read sizes, stream. Flags 0xdf: 4096-byte
    # buffer, the largest limits, compression allowed; 0x00: the smallest
    # buffer (139 bytes) and limits (125-byte frames, 256-byte messages).
    for direction, key in (("masked", RFC_KEY), ("unmasked", None)):
        for name, stream in frame_streams(key).items():
            write("frame_decoder", f"{direction}-{name}", bytes([0xDF]) + MIXED + stream)
            if name in ("hello", "every-type", "text-utf8-split-with-ping", "binary-256"):
                write("frame_decoder", f"{direction}-{name}-bytewise", bytes([0x00]) + BYTEWISE + stream)

    # connection: flags (bit 0 = client), 16 steps of [what, param], stream.
    reads_only = bytes([0x0F, 0] * 16)
    chatty = bytes(
        [0x89, 1, 0x05, 0, 0xA3, 4, 0x02, 0, 0xD1, 0x05, 0xD1, 0x80, 0x93, 7, 0x0F, 0,
         0xB2, 9, 0xF1, 3, 0x81, 2, 0xC4, 0x08, 0x8F, 1, 0xE1, 0x00, 0x0F, 0, 0x0F, 0]
    )
    # Flags 0x58: 256-byte buffer, no message limit; | 0x06: auto-pong off
    # and compression allowed.
    for role, key, flags in (("server", RFC_KEY, 0x58), ("client", None, 0x59)):
        streams = frame_streams(key)
        for name in ("hello", "every-type", "text-utf8-split-with-ping", "ping-hello",
                     "close-1000-bye", "close-bad-utf8", "text-invalid-utf8",
                     "rsv1-compressed", "binary-64k-head"):
            write("connection", f"{role}-{name}", bytes([flags]) + reads_only + streams[name])
            write("connection", f"{role}-{name}-sends", bytes([flags | 0x06]) + chatty + streams[name])

    # server_handshake: 8 read sizes, request.
    for name, request in requests().items():
        write("server_handshake", name, MIXED + request)
    write("server_handshake", "rfc-whole", ONE_READ + http(RFC_REQUEST))
    write("server_handshake", "rfc-bytewise", BYTEWISE + http(RFC_REQUEST))

    # client_handshake: flags (bits 0-1 protocols offered, 2-3 extensions
    # offered), 8 read sizes, response. 0x06: chat, superchat and
    # permessage-deflate offered.
    for name, response in responses().items():
        write("client_handshake", name, bytes([0x06]) + MIXED + response)
    write("client_handshake", "rfc-bytewise", bytes([0x00]) + BYTEWISE + http(RFC_RESPONSE))

    # utf8: 8 read sizes, text.
    for name, text in TEXTS.items():
        write("utf8", name, MIXED + text)
        write("utf8", name + "-bytewise", BYTEWISE + text)

    # mask: key, offset (u64), 8 read sizes, payload.
    write("mask", "rfc-hello", RFC_KEY + bytes(8) + ONE_READ + b"Hello")
    for offset in range(1, 4):
        write("mask", f"offset-{offset}", RFC_KEY + struct.pack("<Q", offset) + MIXED + bytes(range(37)))
    write("mask", "long-bytewise", b"\xde\xad\xbe\xef" + struct.pack("<Q", 6) + BYTEWISE + bytes(100))

    deflate_seeds()
    return 0


TAIL = b"\x00\x00\xff\xff"


def deflated(messages, wbits=15, level=9, takeover=True):
    """Compressed payloads (tail removed) as a permessage-deflate sender makes them."""
    out = []
    comp = None
    for message in messages:
        if comp is None or not takeover:
            comp = zlib.compressobj(level, zlib.DEFLATED, -wbits)
        data = comp.compress(message) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(TAIL)
        out.append(data[: -len(TAIL)])
    return out


def deflate_seeds():
    """deflate: flags, windows, tune, 8 message sizes, 8 read sizes, 8
    steps, 8 sends [what, size], then data: the compressed payloads (part 1)
    and what the round-trip messages are cut from (part 2).

    flags: bit 0 client, bits 1-2 server/client_no_context_takeover, bits
    3-5 limit (0, 1, 5, 100, 4096, 1 MiB, 64 MiB, usize::MAX), bit 6
    release_idle inside messages, bit 7 invalid round-trip text. windows:
    server bits - 8 (bits 0-2), client bits - 8 (bits 4-6). tune: level
    (bits 0-3), the peer's limit (bits 4-6). Steps: bit 0 text, 1 release
    before, 2 release inside, 3 recycle, 4 two frames, 5 empty last frame,
    6 empty message before. Sends `what`: bit 0 peer sends, 1 text, 2-4
    repeats (1, 1, 1, 2, 3, 16, 256, 4096), 5/6 release sender/receiver.
    """
    def seed(name, data, flags=0x30, windows=0x77, tune=0x66, sizes=ONE_READ,
             reads=MIXED, steps=bytes([0x01] * 8), sends=None):
        if sends is None:
            # Text and binary both ways, the whole data, then repeated.
            sends = bytes([0x02, 0, 0x03, 0, 0x00, 5, 0x01, 9, 0x16, 0, 0x1B, 0x83, 0x02, 0, 0x00, 0])
        assert len(sizes) == 8 and len(reads) == 8 and len(steps) == 8 and len(sends) == 16
        write("deflate", name, bytes([flags, windows, tune]) + sizes + reads + steps + sends + data)

    def sizes(*lengths):
        assert all(0 < n < 128 for n in lengths[:-1]) and len(lengths) <= 8
        return bytes(list(lengths[:-1]) + [0] * (9 - len(lengths)))

    hello = bytes([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    # RFC 7692 section 7.2.3: "Hello" (7.2.3.1), again with the window of
    # the first (7.2.3.2), in a stored block (7.2.3.3), with BFINAL set
    # (7.2.3.4), in two blocks (7.2.3.5).
    seed("rfc-hello", hello)
    seed("rfc-hello-bytewise", hello, reads=BYTEWISE, steps=bytes([0x19] * 8))
    again = bytes([0xF2, 0x00, 0x11, 0x00, 0x01, 0x00])
    seed("rfc-shared-window", hello + again, sizes=sizes(7, 0))
    stored = bytes([0x00, 0x05, 0x00, 0xFA, 0xFF]) + b"Hello" + b"\x00"
    seed("rfc-stored", stored)
    seed("rfc-bfinal", bytes([0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]))
    two = bytes([0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00])
    seed("rfc-two-blocks", two)
    seed("rfc-all", hello + again + stored + two, sizes=sizes(7, 6, 11, 0),
         steps=bytes([0x01, 0x09, 0x13, 0x2B, 0x41, 0x01, 0x01, 0x01]))
    # Empty messages: no payload, and a lone 0x00 (an empty stored block
    # whose length the tail supplies).
    seed("empty", b"", steps=bytes([0x00] * 8))
    seed("empty-00", b"\x00", steps=bytes([0x40] * 8))
    seed("garbage", b"\xff\xff\xff\xff", steps=bytes([0x00] * 8))
    # Context takeover across messages, a dynamic block last.
    texts = [b'{"id": 1, "name": "alpha"}', b'{"id": 2, "name": "beta"}',
             b'{"id": 3, "name": "gamma", "tags": ["x", "y"]}',
             b"The quick brown fox jumps over the lazy dog. " * 3
             + "κόσμε €𝄞 ".encode() * 4]
    payloads = deflated(texts)
    seed("takeover", b"".join(payloads), sizes=sizes(*[len(p) for p in payloads]))
    payloads = deflated(texts, takeover=False)
    seed("no-takeover-client", b"".join(payloads), flags=0x34,
         sizes=sizes(*[len(p) for p in payloads]))
    payloads = deflated(texts, wbits=9, takeover=False)
    seed("server-window-9", b"".join(payloads), flags=0x33, windows=0x71,
         sizes=sizes(*[len(p) for p in payloads]))
    payloads = deflated([b"binary \x00\x01\x02" * 20, bytes(range(256))], level=1)
    seed("binary-level-1", b"".join(payloads), flags=0x31,
         sizes=sizes(*[len(p) for p in payloads]), steps=bytes([0x10] * 8))
    # A bomb: 2 MiB of zeros in about 2 KiB, under a 4 KiB and a 1 MiB limit.
    bomb = deflated([bytes(2 << 20)])[0]
    seed("bomb-limit-4k", bomb, flags=0x20, steps=bytes([0x00] * 8))
    seed("bomb-limit-1m", bomb, flags=0x28, steps=bytes([0x00] * 8))
    # Regressions (ws-proto bugs this target found): a limit of usize::MAX
    # (max_message + 1 overflowed); release_idle inside a message without
    # context takeover (dropped the inflater's state); empty messages after
    # another with context takeover (compressed to no bytes at all).
    seed("regress-limit-usize-max", hello, flags=0x38, sizes=ONE_READ, reads=ONE_READ,
         sends=bytes(16))
    seed("regress-release-idle-inside", hello, flags=0x74, sizes=ONE_READ,
         reads=bytes([1]) + bytes(7), steps=bytes([0x05] * 8), sends=bytes(16))
    seed("regress-empty-after-message", b"", flags=0x30, sizes=ONE_READ, reads=ONE_READ,
         steps=bytes(8), sends=bytes(16))
    # Round trip: long repeated messages both ways, small windows, no
    # context takeover on either side, level 9.
    seed("round-trip", b"Lorem ipsum dolor sit amet, \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 0123456789",
         flags=0x36, windows=0x23, tune=0x69,
         sends=bytes([0x16, 40, 0x1B, 0, 0x1A, 7, 0x02, 0, 0x63, 3, 0x00, 0, 0x1E, 0, 0x03, 0]))



if __name__ == "__main__":
    sys.exit(main())
