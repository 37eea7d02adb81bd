//! `hwx feed verify FILE`: check a downloaded feed file offline (J5). Every record's content must
//! match its hash, and, given the public key, its Ed25519 signature.
//!
//! Reads what the gateway serves: snapshot NDJSON, snapshot CSV (UTF-8 or Shift_JIS), a page of
//! `/v1/feed/changes` or one posting as JSON. Files are read a record at a time.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use hwx_job_feed::signing::{self, VerifyError};
use hwx_posting::record::{self, ServedJson};

/// What a verification found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub ok: u64,
    /// Records that failed: (line, posting number, why).
    pub failed: Vec<(u64, String, String)>,
    /// What is wrong with the file as a whole (cut short, a record missing): (line, why). Not
    /// records, so not counted as such.
    pub file: Vec<(u64, String)>,
    pub signatures_checked: bool,
}

fn check(rec: &ServedJson, key: Option<&ed25519_dalek::VerifyingKey>) -> Result<(), VerifyError> {
    signing::verify(
        &rec.content,
        rec.version,
        &rec.content_hash,
        &rec.signature,
        &rec.key_id,
        key,
    )
}

/// J4: the attribution follows from the signed content; a record whose attribution was edited or
/// dropped is not as provided.
fn attribution_ok(rec: &ServedJson) -> bool {
    rec.attribution == hwx_rules::access::attribution(&rec.content.receiving_office)
}

/// Shift_JIS has no form for some characters; a download then carries `&#NNNN;` for them. Such a
/// record verifies if the text with those references read back matches the hash.
fn unescape_refs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        let end = tail.find(';');
        match end.and_then(|e| tail[..e].parse::<u32>().ok().map(|n| (e, n))) {
            Some((e, n)) if char::from_u32(n).is_some() => {
                out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                rest = &tail[e + 1..];
            }
            _ => {
                out.push_str("&#");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn record_line(
    report: &mut Report,
    line: u64,
    rec: Result<ServedJson, String>,
    key: Option<&ed25519_dalek::VerifyingKey>,
) {
    match rec {
        Err(e) => report.failed.push((line, String::new(), e)),
        Ok(rec) => match check(&rec, key) {
            Ok(()) if attribution_ok(&rec) => report.ok += 1,
            Ok(()) => report.failed.push((
                line,
                rec.content.posting_number.clone(),
                "the J4 attribution was altered or removed".into(),
            )),
            Err(e) => report
                .failed
                .push((line, rec.content.posting_number.clone(), e.to_string())),
        },
    }
}

/// Verify a file's bytes from `reader`.
pub fn verify_reader(
    reader: impl Read,
    key: Option<&ed25519_dalek::VerifyingKey>,
    mut progress: impl FnMut(u64),
) -> Result<Report, String> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut report = Report {
        signatures_checked: key.is_some(),
        ..Default::default()
    };
    let start = reader.fill_buf().map_err(|e| e.to_string())?;
    let text_start = String::from_utf8_lossy(&start[..start.len().min(64)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_owned();
    if text_start.starts_with('{') && !text_start.contains("\"changes\"") {
        // NDJSON, or one JSON posting.
        let mut whole = String::new();
        let mut trailer: Option<(u64, u64)> = None;
        let mut line_no = 0;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| e.to_string())?
                == 0
            {
                break;
            }
            line_no += 1;
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let value: serde_json::Value = match serde_json::from_str(line) {
                Ok(v) => v,
                // One pretty-printed JSON object spans lines: gather it.
                Err(_) => {
                    whole.push_str(line);
                    whole.push('\n');
                    continue;
                }
            };
            if value.get("content").is_none() {
                // The closing {"cursor": …, "records": N} line, and nothing else.
                match value.get("records").and_then(serde_json::Value::as_u64) {
                    Some(n) if value.get("cursor").is_some() => trailer = Some((line_no, n)),
                    _ => report.failed.push((
                        line_no,
                        String::new(),
                        "not a feed record (no \"content\")".into(),
                    )),
                }
                continue;
            }
            let rec = serde_json::from_value::<ServedJson>(value).map_err(|e| e.to_string());
            record_line(&mut report, line_no, rec, key);
            progress(report.ok + report.failed.len() as u64);
        }
        if !whole.is_empty() {
            let rec = serde_json::from_str::<ServedJson>(&whole).map_err(|e| e.to_string());
            record_line(&mut report, 1, rec, key);
        }
        // A snapshot says how many records it held: one removed or added shows here, and a
        // download cut short has no closing line at all.
        let held = report.ok + report.failed.len() as u64;
        if trailer.is_none() && held > 1 {
            report.file.push((
                line_no,
                "no closing {\"cursor\",\"records\"} line: the download is incomplete".into(),
            ));
        }
        if let Some((line, n)) = trailer {
            let held = report.ok + report.failed.len() as u64;
            if held != n {
                report.file.push((
                    line,
                    format!("the snapshot held {n} records but the file has {held}"),
                ));
            }
        }
        return Ok(report);
    }
    if text_start.starts_with('{') {
        // A page of the change feed.
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .map_err(|e| format!("not UTF-8 JSON: {e}"))?;
        let page: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let changes = page
            .get("changes")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        for (i, c) in changes.into_iter().enumerate() {
            if let Some(u) = c.get("upsert") {
                let rec =
                    serde_json::from_value::<ServedJson>(u.clone()).map_err(|e| e.to_string());
                record_line(&mut report, i as u64 + 1, rec, key);
            }
        }
        return Ok(report);
    }
    // CSV, UTF-8 or Shift_JIS, a record at a time (quoted fields may span lines).
    let quotes = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let ends_with_newline = std::rc::Rc::new(std::cell::Cell::new(false));
    let counted = CountQuotes {
        inner: reader,
        quotes: quotes.clone(),
        ends_with_newline: ends_with_newline.clone(),
    };
    let mut header: Option<Vec<String>> = None;
    let mut last_line = 0;
    for row in record::csv_rows(counted) {
        let (line, row) = row?;
        last_line = line;
        if row.iter().all(String::is_empty) {
            continue;
        }
        let Some(h) = &header else {
            header = Some(row);
            continue;
        };
        let first = record::served_from_csv(h, &row);
        let verdict = match &first {
            Ok(rec) => check(rec, key),
            Err(_) => Ok(()),
        };
        let rec = match (first, verdict) {
            (Ok(rec), Err(VerifyError::Hash)) => {
                // Characters Shift_JIS cannot hold came through as references.
                let row: Vec<String> = row.iter().map(|f| unescape_refs(f)).collect();
                record::served_from_csv(h, &row).or(Ok(rec))
            }
            (r, _) => r,
        };
        record_line(&mut report, line, rec, key);
        progress(report.ok + report.failed.len() as u64);
    }
    // Every quoted field opens and closes (a quote inside one is doubled): an odd count means the
    // file ends inside a field, a download cut short.
    if quotes.get() % 2 == 1 {
        return Err(format!(
            "line {last_line}: a quoted field never ends: the download looks truncated"
        ));
    }
    // Every record the feed writes ends with a line break: a file that does not ends inside its
    // last record.
    if !ends_with_newline.get() && header.is_some() {
        report.file.push((
            last_line,
            "the file ends inside a record (no line break after it): the download looks truncated"
                .into(),
        ));
    }
    if header.is_none() {
        return Err("empty file".into());
    }
    Ok(report)
}

/// Counts the `"` bytes read (a Shift_JIS character never contains one) and remembers whether
/// the last byte was a line break.
struct CountQuotes<R> {
    inner: R,
    quotes: std::rc::Rc<std::cell::Cell<u64>>,
    ends_with_newline: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for CountQuotes<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let found = buf[..n].iter().filter(|b| **b == b'"').count() as u64;
        self.quotes.set(self.quotes.get() + found);
        if n > 0 {
            self.ends_with_newline.set(buf[n - 1] == b'\n');
        }
        Ok(n)
    }
}

/// The X-Record-Count of a saved header dump (`curl -D`; the last response's, after redirects).
fn count_from_headers(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .rev()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("x-record-count"))
        .find_map(|(_, v)| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "{}: no X-Record-Count header (save the snapshot's headers with curl -D)",
                path.display()
            )
        })
}

/// `hwx feed verify FILE [--key KEY] [--expect-count N | --headers FILE]`.
pub fn verify(
    file: &Path,
    key: Option<&str>,
    expect_count: Option<u64>,
    headers: Option<&Path>,
) -> ExitCode {
    let expected = match (expect_count, headers) {
        (Some(n), _) => Some(n),
        (None, Some(h)) => match count_from_headers(h) {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("hwx feed verify: {e}");
                return ExitCode::from(2);
            }
        },
        (None, None) => None,
    };
    let key = match key {
        None => None,
        Some(k) => {
            // A file holding the key (the gateway's JSON or the hex), or the hex itself.
            let text = std::fs::read_to_string(k).unwrap_or_else(|_| k.to_owned());
            match signing::parse_public_key(&text) {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!("hwx feed verify: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let f = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("hwx feed verify: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    let report = match verify_reader(f, key.as_ref(), |n| {
        if n % 100_000 == 0 {
            eprint!("\r{n} records checked");
        }
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hwx feed verify: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let mut report = report;
    let total = report.ok + report.failed.len() as u64;
    if let Some(n) = expected
        && n != total
    {
        let why = if total < n {
            format!(
                "the download holds {n} records (X-Record-Count) but the file has {total}: it looks truncated"
            )
        } else {
            format!("the download holds {n} records (X-Record-Count) but the file has {total}")
        };
        report.file.push((0, why));
    }
    for (line, number, why) in report.failed.iter().take(20) {
        println!("FAIL line {line} {number}: {why}");
    }
    if report.failed.len() > 20 {
        println!("… and {} more", report.failed.len() - 20);
    }
    for (line, why) in &report.file {
        println!("FAIL the file (line {line}): {why}");
    }
    let file = match report.file.len() {
        0 => String::new(),
        1 => "; 1 problem with the file".to_owned(),
        n => format!("; {n} problems with the file"),
    };
    println!(
        "{total} records: {} verified, {} failed{file} ({:.1} s)",
        report.ok,
        report.failed.len(),
        started.elapsed().as_secs_f64()
    );
    match &key {
        Some(k) => println!("signatures checked against key {}", signing::key_id(k)),
        None => println!(
            "hashes only: signatures not checked (pass --key with GET /v1/feed/signing-key saved to a file)"
        ),
    }
    if report.failed.is_empty() && report.file.is_empty() && total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
