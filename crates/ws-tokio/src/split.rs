//! A connection split into a reader and a writer half, for two tasks.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};
use ws_proto::message::Message;
use ws_proto::CloseCode;

use crate::error::Result;
use crate::websocket::WebSocket;

/// The tasks waiting on either half. The connection is polled with one
/// waker that wakes both: the stream keeps one waker per direction, and a
/// reader that writes pongs must not take the place of a writer waiting
/// for room (nor the other way round).
#[derive(Debug, Default)]
struct Wakers {
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in [&self.reader, &self.writer] {
            let waker = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// What the halves share.
struct Shared<S> {
    ws: Mutex<WebSocket<S>>,
    wakers: Arc<Wakers>,
    /// A waker for `wakers`, made once.
    waker: Waker,
}

impl<S> Shared<S> {
    fn new(ws: WebSocket<S>) -> Arc<Self> {
        let wakers = Arc::new(Wakers::default());
        Arc::new(Shared {
            ws: Mutex::new(ws),
            waker: Waker::from(wakers.clone()),
            wakers,
        })
    }

    /// Poll the connection on behalf of the half whose waker slot is
    /// `slot`: the lock is held for the poll only, never across an await.
    ///
    /// A write that this poll made may have made the room the other half
    /// waits for, without the stream waking anyone (a stream wakes a
    /// writer only when it was full): then the other half is woken.
    fn poll<T>(
        &self,
        (own, other): (Slot, Slot),
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut WebSocket<S>, &mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        {
            let mut stored = own(&self.wakers).lock().unwrap_or_else(|e| e.into_inner());
            match stored.as_mut() {
                Some(waker) => waker.clone_from(cx.waker()),
                None => *stored = Some(cx.waker().clone()),
            }
        }
        let mut both = Context::from_waker(&self.waker);
        let mut ws = self.lock();
        let before = ws.write_progress();
        let result = poll(&mut ws, &mut both);
        let wrote = ws.write_progress() != before;
        drop(ws);
        if wrote {
            let waker = other(&self.wakers)
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, WebSocket<S>> {
        // A poll that panicked leaves the connection as it was between
        // two steps: go on with it.
        self.ws.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One half's waker slot.
type Slot = fn(&Wakers) -> &Mutex<Option<Waker>>;

/// The reader polls: its own slot, then the other's.
const READER: (Slot, Slot) = (|w| &w.reader, |w| &w.writer);
/// The writer polls.
const WRITER: (Slot, Slot) = (|w| &w.writer, |w| &w.reader);

/// The receiving half of a [`WebSocket`], from [`WebSocket::split`]: a
/// [`Stream`] of messages with a cancel-safe [`recv`](Self::recv). While
/// it receives, pings are answered, the peer's close is replied to and the
/// timers run, whatever the writer half does.
pub struct WsReader<S> {
    shared: Arc<Shared<S>>,
}

/// The sending half of a [`WebSocket`], from [`WebSocket::split`]: a
/// [`Sink`] of messages with [`send`](Self::send), bounded by
/// [`Config::write_buffer_limit`](crate::Config::write_buffer_limit).
pub struct WsWriter<S> {
    shared: Arc<Shared<S>>,
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Split the connection into a reader and a writer half, to receive in
    /// one task and send in another. The halves share the connection
    /// behind a lock taken for each poll only; [`WsReader::reunite`] puts
    /// them back together.
    ///
    /// ```no_run
    /// use ws_tokio::Message;
    ///
    /// # async fn run() -> ws_tokio::Result<()> {
    /// let ws = ws_tokio::connect("ws://127.0.0.1:9004/").await?;
    /// let (mut reader, mut writer) = ws.split();
    /// tokio::spawn(async move {
    ///     for i in 0..10 {
    ///         writer.send(Message::Text(format!("tick {i}"))).await?;
    ///     }
    ///     writer.close(ws_tokio::CloseCode::NORMAL, "done").await
    /// });
    /// while let Some(message) = reader.recv().await {
    ///     println!("{:?}", message?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(self) -> (WsReader<S>, WsWriter<S>) {
        let shared = Shared::new(self);
        (
            WsReader {
                shared: shared.clone(),
            },
            WsWriter { shared },
        )
    }
}

impl<S> WsReader<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// [`WebSocket::recv`]: the next whole message, `None` once the
    /// connection is closed. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        self.shared.poll(READER, cx, WebSocket::poll_recv)
    }

    /// The peer's close frame, once it arrived.
    pub fn close_frame(&self) -> Option<(CloseCode, String)> {
        let ws = self.shared.lock();
        ws.close_frame()
            .map(|(code, reason)| (code, reason.to_owned()))
    }

    /// Put the halves back together; gives them back if they are not two
    /// halves of one connection.
    pub fn reunite(
        self,
        writer: WsWriter<S>,
    ) -> std::result::Result<WebSocket<S>, (WsReader<S>, WsWriter<S>)> {
        if !Arc::ptr_eq(&self.shared, &writer.shared) {
            return Err((self, writer));
        }
        drop(writer);
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => Ok(shared.ws.into_inner().unwrap_or_else(|e| e.into_inner())),
            // The writer was dropped above: this is the only reference.
            Err(_) => unreachable!("both halves were given"),
        }
    }
}

impl<S> WsWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// [`WebSocket::send`]: queue the message (waiting first while the
    /// write buffer is over its limit) and write it out.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| self.shared.poll(WRITER, cx, WebSocket::poll_ready_to_send)).await?;
        self.shared.lock().queue_message(&message)?;
        poll_fn(|cx| self.shared.poll(WRITER, cx, WebSocket::poll_flush_all)).await
    }

    /// Send our close frame (unless one went already) and write it out.
    /// The reader half then receives the peer's close and ends; the close
    /// timeout runs while it reads.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.shared.lock().queue_close(code, reason)?;
        poll_fn(|cx| self.shared.poll(WRITER, cx, WebSocket::poll_flush_all)).await
    }
}

impl<S> Stream for WsReader<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_recv(cx)
    }
}

impl<S> Sink<Message> for WsWriter<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = crate::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared.poll(WRITER, cx, WebSocket::poll_ready_to_send)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        self.shared.lock().queue_message(&message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared.poll(WRITER, cx, WebSocket::poll_flush_all)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared
            .poll(WRITER, cx, |ws, cx| Pin::new(ws).poll_close(cx))
    }
}

impl<S> std::fmt::Debug for WsReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsReader").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for WsWriter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsWriter").finish_non_exhaustive()
    }
}
