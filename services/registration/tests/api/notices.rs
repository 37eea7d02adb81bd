//! What the notifier's log backend wrote: a layer on this test binary's subscriber that keeps the
//! `hwx::notice` lines, as an operator reads them in the registration log.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "hwx::notice" {
            return;
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        LINES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(m.0);
    }
}

/// Capture notices from now on (once per test binary, before any service starts: the
/// notifier runs only where the log shows notices). Nothing else is enabled.
pub fn capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let only_notices = tracing_subscriber::filter::filter_fn(|m| m.target() == "hwx::notice");
        let _ = tracing_subscriber::registry()
            .with(Capture.with_filter(only_notices))
            .try_init();
    });
}

/// The notices logged for `to` so far.
pub fn logged_for(to: &str) -> Vec<String> {
    let prefix = format!("notice for {to}:");
    LINES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|l| l.starts_with(&prefix))
        .cloned()
        .collect()
}

/// Wait (up to 10 s) until `count` notices for `to` were logged; the last one.
pub async fn wait_for(to: &str, count: usize) -> String {
    for _ in 0..200 {
        let lines = logged_for(to);
        if lines.len() >= count {
            return lines[count - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no notice #{count} for {to} in the log: {:?}",
        logged_for(to)
    );
}

/// The reset token in a notice.
pub fn token(notice: &str) -> String {
    notice
        .split_whitespace()
        .find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("the token is in the message")
        .to_owned()
}
