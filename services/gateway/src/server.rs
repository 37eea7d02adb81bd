//! The gateway's HTTP/1.1 server: one task per connection, bounded in number, each dropped when it
//! holds a request head open too long.
//!
//! `axum::serve` sets no timer, so hyper's header timeout never fires there: a client sending its
//! headers one byte a second, or thousands of connections that never send anything, would each
//! hold a task and a file descriptor for ever. Here every connection must deliver a whole request
//! head within [`HEADER_TIMEOUT`] of the server starting to wait for one (which includes the idle
//! time between two requests of a kept-alive connection), and at most [`MAX_CONNECTIONS`] are
//! open at once; beyond that, new ones wait in the listen backlog until one closes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower_service::Service;

/// How long a connection may take to send a request head, counted from when the server starts
/// reading one (so it also ends idle kept-alive connections).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections one gateway replica keeps open at once (live streams count).
pub const MAX_CONNECTIONS: usize = 8192;

/// How long a stopping gateway lets open requests finish (Kubernetes' grace period is 30 s).
pub const DRAIN: Duration = Duration::from_secs(20);

/// Answer on `listener` until `shutdown` turns true, then let open connections finish their
/// requests (idle ones close at once) and return when the last has closed.
pub async fn serve(
    app: Router,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, say: the next accept may work; do not spin meanwhile.
                Err(e) => {
                    tracing::warn!(error = %e, "gateway: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let mut app = app.clone();
                async move { app.call(req.map(Body::new)).await }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "gateway: connection ended");
            }
        });
    }
    drop(listener);
    // Every slot back means every connection has closed; a client that keeps a download or an
    // upload going is not waited for beyond DRAIN (the process then ends with it).
    let all = u32::try_from(MAX_CONNECTIONS).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = MAX_CONNECTIONS - slots.available_permits(),
            "gateway: connections still open after {DRAIN:?}; stopping without them"
        );
    }
    Ok(())
}
