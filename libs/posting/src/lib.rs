//! `hwx-posting`: a job posting as HWX serves it, shared by the job feed (which stores and exports
//! postings), the gateway (which takes NDJSON in and serves JSON out) and `hwx feed verify` (which
//! reads downloads back).
//!
//! | module | what |
//! |---|---|
//! | [`record`] | the canonical form (J5), intake checks (J7 and the code tables), NDJSON and CSV formats |
//! | [`codes`] | the reference codes: prefectures, occupation groups, JSIC divisions |

pub mod codes;
pub mod record;

/// Refused and withdrawn records listed one by one in an ingest summary; beyond this they are
/// counted only, so the answer to a million bad records still fits in one message.
pub const MAX_RESULTS: usize = 10_000;
