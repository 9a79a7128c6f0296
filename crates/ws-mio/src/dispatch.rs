//! Handing the core's queued events to the handler: the only place a
//! [`Context`] is made. The loop calls [`dispatch`] after every
//! operation on the core, so the handler hears of each event in the turn
//! it happened, in order.

use ws_proto::handshake::Status;
use ws_proto::message::MessageRef;

use crate::core::{
    pass_on_early_bytes, Body, Core, Event, PendingOpen, Side, HEADROOM, MAX_PAYLOAD,
};
use crate::handler::{Context, Handler, Opening};
use crate::id::ConnectionId;
use ws_proto::handshake::Refusal;

/// Deliver every queued event, oldest first, including those that the
/// handler's answers cause. `rbuf` is the loop's read buffer, which holds
/// the messages that arrived whole (see [`Body::InBuffer`]).
pub(crate) fn dispatch<H: Handler>(handler: &mut H, core: &mut Core<H::Data>, rbuf: &mut [u8]) {
    while let Some(event) = core.events.pop_front() {
        deliver(handler, core, rbuf, event);
    }
    // No queued event refers to a payload any more.
    core.control.clear();
}

fn deliver<H: Handler>(handler: &mut H, core: &mut Core<H::Data>, rbuf: &mut [u8], event: Event) {
    match event {
        Event::Open { index, id, opening } => {
            if let Some(opening) = core.openings.try_remove(opening) {
                open(handler, core, rbuf, (index, id), opening);
            }
        }
        Event::Message { id, body } => message(handler, core, rbuf, id, body),
        Event::Ping { id, payload } => {
            let mut bytes = [0; MAX_PAYLOAD];
            let payload = payload.copy_out(&core.control, &mut bytes);
            handler.on_ping(&mut Context { core }, id, payload);
        }
        Event::Pong { id, payload } => {
            let mut bytes = [0; MAX_PAYLOAD];
            let payload = payload.copy_out(&core.control, &mut bytes);
            handler.on_pong(&mut Context { core }, id, payload);
        }
        Event::Close { id, code, reason } => {
            let mut bytes = [0; MAX_PAYLOAD];
            // Checked as UTF-8 when it arrived (or one of ours).
            let reason = std::str::from_utf8(reason.copy_out(&core.control, &mut bytes));
            handler.on_close(&mut Context { core }, id, code, reason.unwrap_or(""));
        }
        Event::Error { id, error } => handler.on_error(&mut Context { core }, id, &error),
        Event::Writable { id } => handler.on_writable(&mut Context { core }, id),
        Event::Timer { token } => handler.on_timer(&mut Context { core }, token),
        Event::Gone { id } => core.forget(id),
    }
}

/// `on_message`; a pooled buffer goes back to the pool after it.
fn message<H: Handler>(
    handler: &mut H,
    core: &mut Core<H::Data>,
    rbuf: &[u8],
    id: ConnectionId,
    body: Body,
) {
    match body {
        Body::InBuffer { kind, start, end } => {
            // Checked when it arrived (and `rbuf` not touched since), so
            // this does not fail.
            if let Ok(message) = MessageRef::new(kind, &rbuf[start..end]) {
                handler.on_message(&mut Context { core }, id, message);
            }
        }
        Body::Owned(message) => {
            handler.on_message(&mut Context { core }, id, message.as_ref());
            core.pool.give(message.into_bytes());
        }
    }
}

/// `on_open` decides on a connection whose handshake completed; if it
/// stays open, the frames that came with the handshake are handled (and
/// their events delivered next).
fn open<H: Handler>(
    handler: &mut H,
    core: &mut Core<H::Data>,
    rbuf: &mut [u8],
    (index, id): (usize, ConnectionId),
    opening: PendingOpen,
) {
    let PendingOpen {
        head,
        consumed,
        side,
    } = opening;
    // The head was complete and valid when it was queued, so feeding it
    // again gives the same request or response; 400 covers the
    // impossible.
    let refused = Err(Refusal::new(400));
    let answer = match side {
        Side::Server {
            mut handshake,
            chosen,
        } => match handshake.feed(&head) {
            Ok(Status::Complete(incoming)) => {
                let opening = Opening::Request(incoming.request(), chosen.as_deref());
                handler.on_open(&mut Context { core }, id, &opening)
            }
            _ => refused,
        },
        Side::Client(mut state) => match state.handshake.feed(&head) {
            Ok(Status::Complete(done)) => {
                let opening = Opening::Response(&done.response);
                handler.on_open(&mut Context { core }, id, &opening)
            }
            _ => refused,
        },
    };
    let early = pass_on_early_bytes(rbuf, &head[consumed..]);
    core.pool.give(head);
    if core.settle_open(index, answer) && early > 0 {
        // Only this connection's events are queued now (the queue is
        // drained after every operation), so `rbuf` is free to reuse.
        let mut pos = HEADROOM;
        while let Some(next) = core.process(rbuf, index, pos, HEADROOM + early) {
            // Each event is delivered before the next frame is decoded
            // (see `Core::process`).
            dispatch(handler, core, rbuf);
            pos = next;
        }
    }
}
