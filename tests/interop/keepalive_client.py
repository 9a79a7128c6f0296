"""Keepalive checks against our servers with Python's `websockets` (asyncio)
as the client. Each mode prints one JSON report on stdout; the Rust tests
(tests/tests/keepalive_interop.rs) judge it.

    python3 keepalive_client.py pinging URL IDLE
        Keepalive on (ping_interval=1, ping_timeout=1): the client pings
        every second and closes with 1011 if a pong is 1 s late. It idles
        IDLE seconds, then reports whether it is still open and echoes.

    python3 keepalive_client.py silent URL IDLE
        Keepalive off: the client sends nothing for IDLE seconds (the
        library answers the server's pings), counts the server's pings,
        then reports whether it is still open and echoes.

    python3 keepalive_client.py unresponsive URL LIMIT
        Keepalive off, and the client stops reading at once
        (transport.pause_reading()), so it answers no ping. It watches its
        TCP state for up to LIMIT seconds to see when the server drops the
        connection (FIN or reset), then reads again and reports what came:
        the pings and the close frame the server sent.
"""

import asyncio
import json
import logging
import socket
import sys
import time

from websockets.asyncio.client import connect
from websockets.protocol import State

OPEN_TIMEOUT = 10
ECHO_TIMEOUT = 5
# Linux TCP states (include/net/tcp_states.h).
TCP_ESTABLISHED = 1


class FrameCounter(logging.Handler):
    """Counts the frames the connection logs as received ("< PING ...")."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.pings = 0

    def emit(self, record):
        if record.getMessage().startswith("< PING"):
            self.pings += 1


def counting_logger(name):
    counter = FrameCounter()
    logger = logging.getLogger(f"keepalive_client.{name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    return logger, counter


async def echo_after_idle(ws, idle):
    """Idle, then report the state and try one echo."""
    await asyncio.sleep(idle)
    report = {"open_after_idle": ws.state is State.OPEN, "echoed": False}
    if ws.state is State.OPEN:
        await ws.send("after idle")
        report["echoed"] = await asyncio.wait_for(ws.recv(), ECHO_TIMEOUT) == "after idle"
    report["close_code"] = ws.close_code
    report["close_reason"] = ws.close_reason
    return report


async def pinging(url, idle):
    async with connect(url, ping_interval=1, ping_timeout=1, open_timeout=OPEN_TIMEOUT) as ws:
        report = await echo_after_idle(ws, idle)
        # Set by each pong to a keepalive ping: 0 means no pong ever came.
        report["latency"] = ws.latency
        return report


async def silent(url, idle):
    logger, counter = counting_logger("silent")
    async with connect(url, ping_interval=None, open_timeout=OPEN_TIMEOUT, logger=logger) as ws:
        report = await echo_after_idle(ws, idle)
        report["server_pings"] = counter.pings
        return report


def tcp_state(ws):
    """The Linux TCP state of the connection's socket (1: established)."""
    sock = ws.transport.get_extra_info("socket")
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


async def unresponsive(url, limit):
    logger, counter = counting_logger("unresponsive")
    ws = await connect(url, ping_interval=None, open_timeout=OPEN_TIMEOUT, logger=logger)
    ws.transport.pause_reading()
    start = time.monotonic()
    dropped_after = None
    while time.monotonic() - start < limit:
        if tcp_state(ws) != TCP_ESTABLISHED:
            dropped_after = time.monotonic() - start
            break
        await asyncio.sleep(0.05)
    # Read what the server sent while we were deaf.
    ws.transport.resume_reading()
    try:
        await asyncio.wait_for(ws.wait_closed(), ECHO_TIMEOUT)
    except asyncio.TimeoutError:
        pass
    close = ws.protocol.close_rcvd
    report = {
        "dropped_after": dropped_after,
        "ended": ws.state is State.CLOSED,
        "server_pings": counter.pings,
        "close_code": close.code if close else None,
        "close_reason": close.reason if close else None,
    }
    if ws.state is not State.CLOSED:
        await ws.close()
    return report


MODES = {"pinging": pinging, "silent": silent, "unresponsive": unresponsive}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in MODES:
        print(__doc__, file=sys.stderr)
        return 2
    mode, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    report = asyncio.run(MODES[mode](url, seconds))
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
