//! Graceful shutdown: SIGINT or SIGTERM flips one watch channel that every server, relay and
//! consumer listens to; they drain and flush before the process exits.

use tokio::sync::watch;

/// A channel that turns `true` on the first SIGINT or SIGTERM.
pub fn on_signal() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    let (tx, rx) = watch::channel(false);
    let sender = tx.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: draining requests and flushing the outbox");
        let _ = sender.send(true);
    });
    (tx, rx)
}

/// Wait for the first SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
