"""A foreign WebSocket peer for the interop tests: Python's `websockets`
package, which negotiates permessage-deflate by default.

    python3 python_peer.py server          # echo server; prints "listening on ws://ADDR"
    python3 python_peer.py server --tls CERT KEY   # the same over TLS: "listening on wss://ADDR"
    python3 python_peer.py client URL      # exchanges messages with URL, prints a JSON report
    python3 python_peer.py client URL --ca CA      # a wss:// URL, trusting the CA in that PEM file

The client sends text and binary messages (small, large, compressible and
not), checks every echo, and reports the extensions it negotiated.
"""

import json
import os
import sys

MAX_SIZE = 2**24


def messages():
    """The messages the client sends: text and binary, small and large."""
    json_like = json.dumps([{"id": i, "name": "item %d" % i, "tags": ["a", "b"]} for i in range(400)])
    return [
        "hello",
        "",
        json_like,
        "ünïcödé ✓ " * 1000,
        b"\x00\x01\x02",
        os.urandom(100_000),
        b"z" * 1_000_000,
    ]


def serve_echo(tls=None):
    """Echo every message; with tls = (cert, key), over TLS."""
    from websockets.sync.server import serve

    def echo(ws):
        for message in ws:
            ws.send(message)

    ssl_context = None
    if tls is not None:
        import ssl

        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(*tls)
    scheme = "ws" if tls is None else "wss"
    with serve(echo, "127.0.0.1", 0, max_size=MAX_SIZE, ssl=ssl_context) as server:
        host, port = server.socket.getsockname()[:2]
        print(f"listening on {scheme}://{host}:{port}", flush=True)
        server.serve_forever()


def run_client(url, ca=None):
    """Send messages() to url and check the echoes; with ca, trust only it."""
    from websockets.sync.client import connect

    ssl_context = None
    if ca is not None:
        import ssl

        ssl_context = ssl.create_default_context(cafile=ca)
    with connect(url, max_size=MAX_SIZE, open_timeout=10, close_timeout=5, ssl=ssl_context) as ws:
        extensions = [ext.name for ext in ws.protocol.extensions]
        for message in messages():
            ws.send(message)
            echo = ws.recv(timeout=10)
            if echo != message:
                print(json.dumps({"ok": False, "error": f"echo differs for a {type(message).__name__} of {len(message)}"}))
                return 1
    print(json.dumps({"ok": True, "extensions": extensions, "messages": len(messages())}))
    return 0


def main():
    args = sys.argv[1:]
    if args == ["server"]:
        serve_echo()
        return 0
    if len(args) == 4 and args[:2] == ["server", "--tls"]:
        serve_echo(tls=(args[2], args[3]))
        return 0
    if len(args) == 2 and args[0] == "client":
        return run_client(args[1])
    if len(args) == 4 and args[0] == "client" and args[2] == "--ca":
        return run_client(args[1], ca=args[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
