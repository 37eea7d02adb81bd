//! `hwx-rules`: the terms of use of the Hello Work job / job-seeker information provision service
//! (`RULES.md`) as pure functions and types.
//!
//! No I/O, no async, no clock: "now" is always an argument, so every service decides the same way
//! and tests can stand anywhere in time. Every refusal names the rule that decided ([`RuleId`]).
//!
//! | area | module | rules |
//! |---|---|---|
//! | calendar | [`calendar`] | C1 C2 C3 |
//! | periods | [`period`] | P1 P2 P3 |
//! | deadlines | [`deadline`] | D1–D8, E7, E8, AP3, AP5 |
//! | fiscal years | [`fiscal`] | (SK6d, D3) |
//! | retention | [`retention`] | SK6a–e |
//! | eligibility | [`eligibility`] | E1–E5, E2, E8 |
//! | guidance quota | [`quota`] | SK8 |
//! | message content | [`message`] | SK9, V3 |
//! | sanctions | [`sanction`] | V1–V7, SN1–SN3, D6 |
//! | maintenance | [`maintenance`] | X1 |
//! | posting items | [`posting`] | J7 |
//! | accounts | [`account`] | A1 A2 |
//! | applications | [`application`] | AP1 AP2 AP4 E6 (D1, AP3) |
//! | access and lists | [`access`] | J2 J4 J8 SN1 SN2 SK6e L1 |
//! | seeker information | [`seeker`] | SK1 SK7 |
//! | rate limits | [`ratelimit`] | X2 |
//! | annual reports | [`report`] | RP1 RP2 RP3 |
//! | the catalogue (`docs/RULES.md`) | [`catalogue`] | every rule: meaning and seed passage |

pub mod access;
pub mod account;
pub mod application;
pub mod calendar;
pub mod catalogue;
pub mod deadline;
pub mod eligibility;
mod error;
pub mod fiscal;
pub mod jst;
pub mod maintenance;
pub mod message;
pub mod period;
pub mod posting;
pub mod quota;
pub mod ratelimit;
pub mod report;
pub mod retention;
mod rule;
pub mod sanction;
pub mod seeker;

pub use chrono::NaiveDate as Date;
pub use error::{Result, RulesError};
pub use rule::{RuleId, UnknownRule};
