//! `hwx rules eval`: one JSON query per line in, one JSON answer per line out, in order.
//!
//! Every line gets exactly one answer line, so a script can zip questions and answers. A line that
//! cannot be answered gets `{"error": "...", "rule": "ID" | null}`; the command goes on.

use std::io::{self, BufRead, Write};
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use hwx_rules::eligibility::{self, ApplicationKind, EligibilityQuery, OrgKind, School, Service};
use hwx_rules::fiscal::FiscalYear;
use hwx_rules::maintenance::MaintenancePolicy;
use hwx_rules::message::{MessagePolicy, Sender};
use hwx_rules::posting::{self, PostingTerms};
use hwx_rules::quota::GuidanceQuota;
use hwx_rules::retention::{self, Acquisition};
use hwx_rules::sanction::{self, PastSanction, SanctionEvent, SanctionPolicy, Standing};
use hwx_rules::{Date, RuleId, RulesError, calendar, deadline};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

/// A `YYYY-MM-DD` date with an error message that says what was expected.
#[derive(Debug, Clone, Copy)]
struct Day(Date);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Date>()
            .map(Day)
            .map_err(|_| serde::de::Error::custom(format!("expected a date YYYY-MM-DD, got {s:?}")))
    }
}

/// An RFC 3339 instant, e.g. `2026-11-30T21:45:00+09:00`.
#[derive(Debug, Clone, Copy)]
struct Instant(DateTime<FixedOffset>);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s).map(Instant).map_err(|_| {
            serde::de::Error::custom(format!(
                "expected an RFC 3339 time such as 2026-11-30T21:45:00+09:00, got {s:?}"
            ))
        })
    }
}

fn opt_day(d: Option<Day>) -> Option<Date> {
    d.map(|d| d.0)
}

#[derive(Debug, Deserialize)]
#[serde(tag = "q", rename_all = "snake_case")]
enum Query {
    NationalHolidays {
        year: i32,
    },
    BusinessDay {
        date: Day,
    },
    SubmissionDeadline {
        registered: Day,
    },
    BureauEmailDue {
        registered: Day,
    },
    ReportDeadline {
        fiscal_year: i32,
    },
    ExpiryGraceEnd {
        expired: Day,
    },
    SuspensionLastDay {
        start: Day,
    },
    ReapplyFrom {
        revoked: Day,
    },
    EmailReusableFrom {
        closed: Day,
    },
    Retention {
        acquired: Day,
        #[serde(default)]
        accepted: Option<Day>,
    },
    Deletion {
        acquired: Day,
        #[serde(default)]
        accepted: Option<Day>,
        #[serde(default)]
        deletion_requested: Option<Day>,
        #[serde(default)]
        blocked: Option<Day>,
        #[serde(default)]
        service_ended: Option<Day>,
    },
    Maintenance {
        at: Instant,
    },
    Eligible(EligibleQuery),
    Message {
        from: Sender,
        text: String,
        #[serde(default)]
        org_contacts: Vec<String>,
    },
    Quota {
        sent_today: u32,
        #[serde(default = "one")]
        n: u32,
        at: Instant,
    },
    Posting {
        posting: Box<PostingTerms>,
    },
    ValidityEnd {
        start: Day,
        #[serde(default)]
        months: Option<u32>,
        #[serde(default)]
        licence_expiry: Option<Day>,
    },
    PlacementWindow {
        application: Day,
    },
    Sanction {
        #[serde(default = "active")]
        standing: Standing,
        #[serde(default)]
        history: Vec<PastSanction>,
        event: SanctionEvent,
    },
}

fn one() -> u32 {
    1
}

fn active() -> Standing {
    Standing::Active
}

#[derive(Debug, Deserialize)]
struct EligibleQuery {
    service: Service,
    kind: OrgKind,
    #[serde(default)]
    school: Option<School>,
    #[serde(default)]
    application: ApplicationKind,
    #[serde(default)]
    regular_placements_3m: u32,
    #[serde(default)]
    suspension_order: bool,
    #[serde(default)]
    improvement_order: bool,
    #[serde(default)]
    revoked_on: Option<Day>,
    on: Day,
}

/// Answers queries with the policies given on the command line.
#[derive(Debug)]
pub struct Evaluator {
    maintenance: MaintenancePolicy,
    messages: MessagePolicy,
    quota: GuidanceQuota,
    sanctions: SanctionPolicy,
}

fn date(d: Date) -> Value {
    Value::String(d.to_string())
}

fn instant(t: DateTime<FixedOffset>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, false))
}

impl Evaluator {
    pub fn new(emergency: &[String], promotion_terms: &[String]) -> Result<Self, String> {
        let mut maintenance = MaintenancePolicy::default();
        for w in emergency {
            let (from, until) = w
                .split_once('/')
                .ok_or_else(|| format!("--emergency {w:?}: expected FROM/UNTIL"))?;
            let parse = |s: &str| {
                DateTime::parse_from_rfc3339(s)
                    .map_err(|e| format!("--emergency {w:?}: {s:?} is not an RFC 3339 time: {e}"))
            };
            let (from, until) = (parse(from)?, parse(until)?);
            if until <= from {
                return Err(format!(
                    "--emergency {w:?}: the window ends before it starts"
                ));
            }
            maintenance.emergency.push((from, until));
        }
        let messages = if promotion_terms.is_empty() {
            MessagePolicy::default()
        } else {
            MessagePolicy::with_promotion_terms(promotion_terms)
        };
        Ok(Evaluator {
            maintenance,
            messages,
            quota: GuidanceQuota::default(),
            sanctions: SanctionPolicy::default(),
        })
    }

    /// Answer every line of `input` on `output`. Only I/O errors stop it.
    pub fn run(&self, mut input: impl BufRead, mut output: impl Write) -> io::Result<()> {
        let mut line = Vec::new();
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let answer = match std::str::from_utf8(&line) {
                Ok(text) => self.answer(text),
                Err(e) => error(format!("the line is not UTF-8: {e}"), None),
            };
            serde_json::to_writer(&mut output, &answer)?;
            output.write_all(b"\n")?;
        }
        output.flush()
    }

    /// The answer to one line.
    pub fn answer(&self, line: &str) -> Value {
        let line = line.trim();
        if line.is_empty() {
            return error("empty line: expected a JSON query such as {\"q\":\"business_day\",\"date\":\"2026-12-29\"}".into(), None);
        }
        match serde_json::from_str::<Query>(line) {
            // A bug in one rule must not end the stream: the safety net turns it into an error
            // answer on that line. The fuzz test below makes sure it is never needed.
            Ok(q) => match std::panic::catch_unwind(AssertUnwindSafe(|| self.evaluate(q))) {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => error(e.to_string(), Some(e.rule())),
                Err(_) => error(
                    "internal error while applying the rules; please report this query".into(),
                    None,
                ),
            },
            Err(e) => error(describe(line, &e), None),
        }
    }

    fn evaluate(&self, q: Query) -> Result<Value, RulesError> {
        Ok(match q {
            Query::NationalHolidays { year } => {
                let list: Vec<Value> = calendar::national_holidays(year)?
                    .into_iter()
                    .map(|h| json!({"date": h.date.to_string(), "name": h.name}))
                    .collect();
                json!({"holidays": list})
            }
            Query::BusinessDay { date } => {
                json!({"business_day": calendar::is_business_day(date.0)?})
            }
            Query::SubmissionDeadline { registered } => {
                json!({"deadline": date(deadline::submission_deadline(registered.0)?)})
            }
            Query::BureauEmailDue { registered } => {
                json!({"due": date(deadline::bureau_email_due(registered.0)?)})
            }
            Query::ReportDeadline { fiscal_year } => {
                let r = deadline::report_dates(FiscalYear(fiscal_year))?;
                json!({"due": date(r.due), "grace_end": date(r.grace_end), "reminder": date(r.reminder)})
            }
            Query::ExpiryGraceEnd { expired } => {
                json!({"grace_end": date(deadline::expiry_grace_end(expired.0)?)})
            }
            Query::SuspensionLastDay { start } => {
                json!({"last_day": date(deadline::suspension_last_day(start.0)?)})
            }
            Query::ReapplyFrom { revoked } => {
                json!({"date": date(deadline::reapply_from(revoked.0)?)})
            }
            Query::EmailReusableFrom { closed } => {
                json!({"date": date(deadline::email_reusable_from(closed.0)?)})
            }
            Query::Retention { acquired, accepted } => {
                let r = retention::retention_clock(acquired.0, opt_day(accepted))?;
                json!({"keep_through": date(r.keep_through), "rule": r.rule})
            }
            Query::Deletion {
                acquired,
                accepted,
                deletion_requested,
                blocked,
                service_ended,
            } => {
                let r = retention::deletion_deadline(&Acquisition {
                    acquired: acquired.0,
                    accepted: opt_day(accepted),
                    deletion_requested: opt_day(deletion_requested),
                    blocked: opt_day(blocked),
                    service_ended: opt_day(service_ended),
                })?;
                json!({"keep_through": date(r.keep_through), "due": date(r.due), "rule": r.rule})
            }
            Query::Maintenance { at } => {
                let s = self.maintenance.status(&at.0);
                json!({"in_window": s.in_window, "reopens": s.reopens.map(instant)})
            }
            Query::Eligible(e) => {
                let answer = eligibility::eligibility(&EligibilityQuery {
                    service: e.service,
                    kind: e.kind,
                    school: e.school,
                    application: e.application,
                    regular_placements_3m: e.regular_placements_3m,
                    suspension_order: e.suspension_order,
                    improvement_order: e.improvement_order,
                    revoked_on: opt_day(e.revoked_on),
                    on: e.on.0,
                })?;
                json!({"eligible": answer.eligible, "rules": answer.rules})
            }
            Query::Message {
                from,
                text,
                org_contacts,
            } => {
                let v = self.messages.check(from, &text, &org_contacts);
                let mut answer = json!({"allowed": v.allowed, "rules": v.rules, "found": v.found});
                if !v.flags.is_empty() {
                    answer["flags"] = json!(v.flags);
                    answer["promotion"] = json!(v.promotion);
                }
                answer
            }
            Query::Quota { sent_today, n, at } => match self.quota.check(sent_today, n, &at.0)? {
                Ok(g) => {
                    json!({"allowed": true, "remaining": g.remaining, "resets_at": instant(g.resets_at)})
                }
                Err(e) => {
                    json!({"allowed": false, "rule": RuleId::SK8, "error": e.to_string(), "resets_at": instant(e.resets_at)})
                }
            },
            Query::Posting { posting } => {
                let missing: Vec<Value> = posting::missing_items(&posting)
                    .into_iter()
                    .map(|i| json!({"item": i.field(), "number": i.number(), "label": i.label()}))
                    .collect();
                if missing.is_empty() {
                    json!({"complete": true, "missing": []})
                } else {
                    json!({"complete": false, "rule": RuleId::J7, "missing": missing})
                }
            }
            Query::ValidityEnd {
                start,
                months,
                licence_expiry,
            } => {
                json!({"last_day": date(deadline::validity_end(start.0, months, opt_day(licence_expiry))?)})
            }
            Query::PlacementWindow { application } => {
                let (first, last) = deadline::placement_window(application.0)?;
                json!({"from": date(first), "through": date(last)})
            }
            Query::Sanction {
                standing,
                history,
                event,
            } => serde_json::to_value(sanction::decide(
                &standing,
                &history,
                &event,
                &self.sanctions,
            )?)
            .unwrap_or_else(|e| error(format!("cannot encode the decision: {e}"), None)),
        })
    }
}

fn error(message: String, rule: Option<RuleId>) -> Value {
    json!({"error": message, "rule": rule})
}

/// Say what is wrong with a line that did not parse as a query, in terms of the query. Only runs
/// on the error path, so answering good lines parses them once.
fn describe(line: &str, e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let short = msg.split(" at line ").next().unwrap_or(&msg);
    let value: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(_) => return format!("not JSON: {msg}"),
    };
    match value.get("q") {
        None if !value.is_object() => {
            "a query is a JSON object, e.g. {\"q\":\"business_day\",\"date\":\"2026-12-29\"}"
                .to_owned()
        }
        None => "missing field `q`: every query names its kind, e.g. {\"q\":\"business_day\",...}"
            .to_owned(),
        Some(Value::String(q))
            if short.starts_with("unknown variant") && short.contains(&format!("`{q}`")) =>
        {
            format!("unknown query {q:?}; `hwx rules eval --help` and the README list the queries")
        }
        Some(Value::String(q)) => format!("malformed {q} query: {short}"),
        Some(other) => format!("`q` must be a string naming the query, got {other}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    const QUERIES: &[&str] = &[
        "national_holidays",
        "business_day",
        "submission_deadline",
        "bureau_email_due",
        "report_deadline",
        "expiry_grace_end",
        "suspension_last_day",
        "reapply_from",
        "email_reusable_from",
        "retention",
        "deletion",
        "maintenance",
        "eligible",
        "message",
        "quota",
        "posting",
        "validity_end",
        "placement_window",
        "sanction",
    ];
    const FIELDS: &[&str] = &[
        "year",
        "date",
        "registered",
        "fiscal_year",
        "expired",
        "start",
        "revoked",
        "closed",
        "acquired",
        "accepted",
        "deletion_requested",
        "blocked",
        "service_ended",
        "at",
        "service",
        "kind",
        "school",
        "regular_placements_3m",
        "suspension_order",
        "improvement_order",
        "revoked_on",
        "on",
        "from",
        "text",
        "org_contacts",
        "sent_today",
        "n",
        "posting",
        "months",
        "licence_expiry",
        "application",
        "event",
        "history",
        "standing",
    ];

    /// Values at the edges: extreme integers, dates at chrono's limits and the calendar's, odd text.
    fn value() -> impl Strategy<Value = Value> {
        let dates = prop::sample::select(vec![
            "-262143-01-01",
            "262142-12-31",
            "1979-12-31",
            "1980-01-01",
            "2099-12-31",
            "2100-01-01",
            "2024-02-29",
            "2026-12-29",
            "0000-01-01",
            "2026-02-30",
        ])
        .prop_map(|s| json!(s));
        let instants = prop::sample::select(vec![
            "9999-12-31T23:59:59+09:00",
            "0000-01-01T00:00:00-23:59",
            "2026-11-30T21:30:00+09:00",
            "262142-12-31T23:59:59Z",
        ])
        .prop_map(|s| json!(s));
        let ints = prop::sample::select(vec![
            i64::MIN,
            -1,
            0,
            1,
            1000,
            1001,
            2026,
            i64::from(i32::MAX),
            i64::from(u32::MAX),
            i64::MAX,
        ])
        .prop_map(|i| json!(i));
        let words = prop::sample::select(vec![
            "job",
            "seeker",
            "org",
            "K1",
            "K3",
            "high",
            "university",
            "renewal",
            "V2",
            "V5",
            "V5b",
            "SN3",
            "E3",
            "〇〇〇〇〇〇〇〇〇〇〇",
            "＠＠",
            "",
        ])
        .prop_map(|s| json!(s));
        let leaf = prop_oneof![
            dates,
            instants,
            ints,
            words,
            any::<bool>().prop_map(|b| json!(b)),
            Just(Value::Null),
            "\\PC{0,24}".prop_map(|s| json!(s))
        ];
        leaf.prop_recursive(2, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(FIELDS.to_vec()).prop_map(str::to_owned),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000),
            ..ProptestConfig::default()
        })]

        /// Whatever the query, the answer is one JSON object, and never the panic safety net.
        #[test]
        fn any_query_gets_an_answer_without_panicking(
            q in prop::sample::select(QUERIES.to_vec()),
            fields in prop::collection::btree_map(prop::sample::select(FIELDS.to_vec()), value(), 0..8),
        ) {
            let mut obj = serde_json::Map::new();
            obj.insert("q".into(), json!(q));
            for (k, v) in fields {
                obj.insert(k.to_owned(), v);
            }
            let line = Value::Object(obj).to_string();
            let answer = Evaluator::new(&[], &[]).unwrap().answer(&line);
            prop_assert!(answer.is_object(), "{line} -> {answer}");
            let internal = answer["error"].as_str().is_some_and(|e| e.starts_with("internal error"));
            prop_assert!(!internal, "{line} hit the panic safety net");
        }
    }
}
