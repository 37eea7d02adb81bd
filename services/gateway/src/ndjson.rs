//! NDJSON request bodies, read line by line as they stream in (the ingest routes): a body of any
//! size holds one line at a time in memory.

use axum::body::{Body, BodyDataStream};
use futures::StreamExt;

/// The lines of a streamed body: each whole line, its newline stripped (the last may lack one),
/// with its 1-based number. A line longer than `max` bytes, or a body that breaks off, ends the
/// reading, saying why.
pub(crate) struct Lines {
    data: BodyDataStream,
    buf: Vec<u8>,
    /// Where the next line starts in `buf`.
    start: usize,
    number: i64,
    max: usize,
    ended: bool,
}

impl Lines {
    pub(crate) fn new(body: Body, max: usize) -> Self {
        Lines {
            data: body.into_data_stream(),
            buf: Vec::new(),
            start: 0,
            number: 0,
            max,
            ended: false,
        }
    }

    /// Lines read so far.
    pub(crate) fn count(&self) -> i64 {
        self.number
    }

    /// The next line and its number; none at the end of the body.
    pub(crate) async fn next(&mut self) -> Option<Result<(i64, &[u8]), String>> {
        loop {
            if let Some(pos) = self.buf[self.start..].iter().position(|b| *b == b'\n') {
                let (from, to) = (self.start, self.start + pos);
                self.start = to + 1;
                self.number += 1;
                if to - from > self.max {
                    return Some(Err(self.too_long(self.number)));
                }
                return Some(Ok((self.number, &self.buf[from..to])));
            }
            if self.ended {
                return None;
            }
            // Only part of a line is left: keep it and read on.
            self.buf.drain(..self.start);
            self.start = 0;
            if self.buf.len() > self.max {
                return Some(Err(self.too_long(self.number + 1)));
            }
            match self.data.next().await {
                Some(Ok(chunk)) => self.buf.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    return Some(Err(format!(
                        "the body broke off after line {}: {e}",
                        self.number
                    )));
                }
                None => {
                    self.ended = true;
                    if !self.buf.is_empty() {
                        self.buf.push(b'\n');
                    }
                }
            }
        }
    }

    fn too_long(&self, line: i64) -> String {
        format!("line {line}: longer than {} bytes", self.max)
    }
}
