//! The writing half of a room socket, on a task of its own: it takes what the room queues for
//! the connection and writes it out, and does nothing else. A relayed frame wakes only this task;
//! one task that also read the socket and watched shutdown, control and the session's expiry
//! re-polled all of those (a fresh socket read, its readiness check and waker registration
//! among them) for every frame it wrote. (tokio-tungstenite's waker proxy still wakes this task
//! once when the socket turns readable after a flush: a poll that finds nothing queued.)

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::Ending;
use crate::realtime::handle::{CloseCode, Outbound};

/// The socket's writing half.
pub(super) type Sink = SplitSink<Box<WebSocket>, Message>;

/// A client that has not taken a frame off its socket for this long is gone; its queue would
/// overflow anyway.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Frames taken from the queue and written with one flush: under load a connection wakes up to
/// several frames, and one write for all of them saves a system call per frame.
const WRITE_BATCH: usize = 64;

/// Writes what the room queues into `out` until the room queues a close, the queue ends, a
/// write fails, or the reader drops `stop` (it ended first). Gives the sink back, for the
/// reader to reunite with its half and close the socket whole, with how the writing ended
/// (`None` when stopped). `out` is dropped on return, so the room sees the connection closed.
pub(super) async fn write(
    mut sink: Sink,
    mut out: mpsc::Receiver<Outbound>,
    shutdown: CancellationToken,
    mut stop: oneshot::Receiver<()>,
) -> (Sink, Option<Ending>) {
    let ending = loop {
        let next = tokio::select! {
            // First, so that a queue that never empties cannot keep the reader waiting.
            biased;
            _ = &mut stop => break None,
            next = out.recv() => next,
        };
        match next {
            Some(Outbound::Frame(frame)) => {
                if let Err(ending) = write_queued(&mut sink, frame, &mut out).await {
                    break Some(ending);
                }
            }
            Some(Outbound::Close(code)) => break Some(Ending::Close(code)),
            // The room dropped us: we fell behind, or the room is stopping.
            None if shutdown.is_cancelled() => break Some(Ending::Close(CloseCode::GoingAway)),
            None => break Some(Ending::Close(CloseCode::TryAgainLater)),
        }
    };
    (sink, ending)
}

/// Writes `first` and whatever else is already queued (up to [`WRITE_BATCH`] frames), with one
/// flush. A close queued behind the frames ends the writing after they are written.
async fn write_queued(
    sink: &mut Sink,
    first: bytes::Bytes,
    out: &mut mpsc::Receiver<Outbound>,
) -> Result<(), Ending> {
    let write = async {
        let mut bytes = first.len();
        sink.feed(Message::Binary(first)).await?;
        let mut close = None;
        for _ in 1..WRITE_BATCH {
            match out.try_recv() {
                Ok(Outbound::Frame(frame)) => {
                    bytes += frame.len();
                    sink.feed(Message::Binary(frame)).await?;
                }
                Ok(Outbound::Close(code)) => {
                    close = Some(code);
                    break;
                }
                Err(_) => break,
            }
        }
        sink.flush().await?;
        crate::metrics::bytes_sent(bytes);
        Ok::<_, axum::Error>(close)
    };
    let mut write = pin!(write);
    // Most writes are done at their first poll: only one that waits gets a timer, boxed, so
    // that a write reads no clock and makes no timer, and no writer holds one (112 bytes) idle.
    let written = match poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await {
        Poll::Ready(written) => Ok(written),
        Poll::Pending => Box::pin(tokio::time::timeout(WRITE_TIMEOUT, write)).await,
    };
    match written {
        Ok(Ok(close)) => close.map_or(Ok(()), |code| Err(Ending::Close(code))),
        Ok(Err(_)) => Err(Ending::Gone),
        Err(_) => {
            tracing::warn!("a write stalled for {WRITE_TIMEOUT:?}; dropping the connection");
            Err(Ending::Gone)
        }
    }
}
