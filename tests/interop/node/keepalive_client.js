// Keepalive check against our servers with Node's `ws` as the client
// (tests/tests/keepalive_interop.rs runs it):
//
//     node keepalive_client.js URL IDLE_MS
//
// Pings every 500 ms and fails if a pong is not back within 400 ms, that
// is before the next ping goes out (a pong held back until the client's
// next frame would ride on that ping and be 500 ms late). After
// IDLE_MS without sending anything else, checks that the connection is
// open and echoes one message. Prints one JSON report on stdout; exits 0
// when all went well, 1 otherwise.
'use strict';

const WebSocket = require('ws');

const PING_EVERY_MS = 500;
const PONG_WITHIN_MS = 400;
const ECHO_WITHIN_MS = 5000;
const OPEN_WITHIN_MS = 10000;

const [url, idleArg] = process.argv.slice(2);
const idleMs = Number(idleArg);
if (!url || !Number.isFinite(idleMs)) {
  console.error('usage: node keepalive_client.js URL IDLE_MS');
  process.exit(2);
}

const report = { pings: 0, pongs: 0, max_pong_ms: 0 };
// Send times of the pings still waiting for their pong, oldest first.
const waiting = [];
const timers = new Set();

function later(ms, fn) {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
  return timer;
}

let finished = false;
function finish(error) {
  if (finished) return;
  finished = true;
  for (const timer of timers) clearTimeout(timer);
  clearInterval(pinger);
  report.ok = !error;
  if (error) report.error = error;
  console.log(JSON.stringify(report));
  const code = error ? 1 : 0;
  if (ws.readyState === WebSocket.OPEN) {
    ws.once('close', () => process.exit(code));
    ws.close(1000);
    // Bounded: do not wait for ever for the server's close.
    setTimeout(() => process.exit(code), 3000).unref();
  } else {
    ws.terminate();
    process.exit(code);
  }
}

let pinger;
const ws = new WebSocket(url, { handshakeTimeout: OPEN_WITHIN_MS });

ws.on('open', () => {
  pinger = setInterval(() => {
    const n = ++report.pings;
    waiting.push(Date.now());
    ws.ping(String(n));
    later(PONG_WITHIN_MS, () => {
      if (report.pongs < n) finish(`no pong within ${PONG_WITHIN_MS} ms of ping ${n}`);
    });
  }, PING_EVERY_MS);

  later(idleMs, () => {
    report.open_after_idle = ws.readyState === WebSocket.OPEN;
    if (!report.open_after_idle) return finish('the connection is not open after the idle time');
    ws.send('after idle');
    later(ECHO_WITHIN_MS, () => finish(`no echo within ${ECHO_WITHIN_MS} ms`));
  });
});

ws.on('pong', () => {
  report.pongs += 1;
  const sent = waiting.shift();
  if (sent !== undefined) report.max_pong_ms = Math.max(report.max_pong_ms, Date.now() - sent);
});

ws.on('message', (data, isBinary) => {
  report.echoed = !isBinary && data.toString() === 'after idle';
  finish(report.echoed ? null : `unexpected message: ${data}`);
});

ws.on('close', (code, reason) => {
  report.close_code = code;
  report.close_reason = reason.toString();
  finish(`closed by the server with ${code} ${reason}`);
});

ws.on('error', (err) => finish(`error: ${err.message}`));
