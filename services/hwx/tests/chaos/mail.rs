//! The run's mailbox: the notifier's one backend today is the registration log, so a person's mail
//! is what the registration processes logged under `hwx::notice`. Read here the way they would
//! read it: each log is read on from where the last look stopped (a restarted process appends).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// How long a sign-up's token may take to arrive: through a NATS or PostgreSQL outage and the
/// restart of the replica that was delivering it.
const WAIT: Duration = Duration::from_secs(90);

#[derive(Debug, Default)]
struct Seen {
    offsets: HashMap<PathBuf, u64>,
    /// Email → the newest sign-up token delivered to it.
    tokens: HashMap<String, String>,
}

#[derive(Debug)]
pub struct Mailbox {
    logs: PathBuf,
    read: Mutex<Seen>,
}

/// The first run of exactly 64 hex digits in `line` (the token; JSON escapes such as `\n` sit
/// around it).
fn token_in(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    let mut start = None;
    for i in 0..=b.len() {
        let hex = i < b.len() && b[i].is_ascii_hexdigit();
        match (hex, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s == 64 {
                    return line.get(s..i);
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

impl Mailbox {
    pub fn new(logs: PathBuf) -> Self {
        Mailbox {
            logs,
            read: Mutex::new(Seen::default()),
        }
    }

    /// Read what the registration logs gained since the last look.
    fn look(&self) {
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        let Ok(dir) = std::fs::read_dir(&self.logs) else {
            return;
        };
        for entry in dir.flatten() {
            let path = entry.path();
            if !path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("registration"))
            {
                continue;
            }
            let from = read.offsets.get(&path).copied().unwrap_or(0);
            let Ok(mut file) = std::fs::File::open(&path) else {
                continue;
            };
            let mut text = Vec::new();
            if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_end(&mut text).is_err() {
                continue;
            }
            // Up to the last whole line: a line being written is read next time.
            let Some(end) = text.iter().rposition(|b| *b == b'\n') else {
                continue;
            };
            read.offsets.insert(path, from + end as u64 + 1);
            for line in String::from_utf8_lossy(&text[..end]).lines() {
                let Some(rest) = line.split("notice for ").nth(1) else {
                    continue;
                };
                let Some((to, after)) = rest.split_once(": HWX: your sign-up") else {
                    continue;
                };
                if let Some(token) = token_in(after) {
                    read.tokens.insert(to.to_owned(), token.to_owned());
                }
            }
        }
    }

    /// The sign-up token mailed to `email`, once it arrives; none when the run stops first or it
    /// never comes (a lost notice: the caller records it).
    pub async fn sign_up_token(&self, email: &str, stop: &watch::Receiver<bool>) -> Option<String> {
        let started = Instant::now();
        while started.elapsed() < WAIT && !*stop.borrow() {
            self.look();
            let found = self
                .read
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .tokens
                .remove(email);
            if found.is_some() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}
