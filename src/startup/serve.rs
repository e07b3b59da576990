//! Accepting connections and serving HTTP/1.1 on them with hyper directly, because
//! `axum::serve` takes no settings: a client must send a whole request head within the header
//! read timeout (a half-sent request cannot hold a connection open), TCP_NODELAY is set, room
//! sockets are upgraded, and shutdown lets requests in progress finish.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;

/// Serves `app` on `listener` until `stop` is cancelled, then stops accepting, lets each open
/// connection finish the request it is on, and returns when all have closed. Upgraded room
/// sockets are not waited for here: they close on `stop` themselves.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    stop: CancellationToken,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = TaskTracker::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        connections.spawn(serve_connection(
            &http,
            tcp,
            peer,
            app.clone(),
            stop.clone(),
        ));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

fn serve_connection(
    http: &http1::Builder,
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    stop: CancellationToken,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    // Nagle's algorithm would hold back a small frame until the previous one is acknowledged
    // (up to the peer's 40 ms delayed ACK): realtime traffic is many small frames.
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::warn!(%error, "cannot set TCP_NODELAY");
    }
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(request)
    });
    let connection = http
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    async move {
        let mut connection = std::pin::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            () = stop.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, %peer, "connection closed with an error");
        }
    }
}

/// Errors of one connection (it was reset before we took it) are skipped; others (out of file
/// descriptors) are logged and retried after a pause instead of spinning.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept connections");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
