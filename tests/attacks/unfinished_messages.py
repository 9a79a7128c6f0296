# Peers that start large messages and never finish them, against a running
# echo server: N connections each announce a 16 MiB binary frame (FIN=1,
# zero mask key) and send 16,777,215 zero bytes of it; with `deflate`, each
# negotiates permessage-deflate and sends one unfinished compressed frame
# (RSV1, FIN=0) holding 60 MiB of zeros. Prints the server's peak VmRSS
# and how many connections it closed. Linux only (reads /proc/PID/status).
#
#   cargo run --release -p ws-mio --example echo_server -- 127.0.0.1:9102 &
#   python3 tests/attacks/unfinished_messages.py 9102 $! 200
#   python3 tests/attacks/unfinished_messages.py 9102 $! 10 deflate
#
# With the default memory budget (256 MiB) the peak stays near it whatever
# N is; tests/tests/memory_budget.rs checks the same in-process.
import socket, sys, threading, time, zlib
port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
deflate = len(sys.argv) > 4
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024
peak = [rss()]
stop = False
def sample():
    while not stop:
        peak[0] = max(peak[0], rss()); time.sleep(0.005)
t = threading.Thread(target=sample); t.start()
base = rss()
ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
req = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n").encode()
if deflate:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = c.compress(b"\0" * (60 << 20)) + c.flush(zlib.Z_SYNC_FLUSH)
    payload = payload[:-4]
    frame = bytes([0x42, 0xfe]) + len(payload).to_bytes(2, "big") if len(payload) < 65536 else bytes([0x42, 0xff]) + len(payload).to_bytes(8, "big")
    frame += b"\0\0\0\0" + payload
else:
    frame = bytes([0x82, 0xff]) + (16 << 20).to_bytes(8, "big") + b"\0\0\0\0" + b"\0" * (16777215)
socks, refused = [], 0
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
    s.sendall(req)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    try:
        s.sendall(frame)
    except OSError:
        refused += 1
    socks.append(s)
time.sleep(0.5)
stop = True; t.join()
closed = 0
for s in socks:
    s.settimeout(0.05)
    try:
        d = s.recv(16)
        if not d or d[0] == 0x88: closed += 1
    except OSError as e:
        if not isinstance(e, socket.timeout): closed += 1
print(f"{n} attackers{' (deflate, 60 MiB of zeros each)' if deflate else ''}: server VmRSS {base/2**20:.1f} MiB -> peak {peak[0]/2**20:.1f} MiB; {closed} closed by the server, {n-closed} held")
