//! Rule identifiers of `RULES.md`. Every refusal and every decision in this crate names one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! rules {
    ($( $id:ident => ($decision:expr, $title:expr) ),+ $(,)?) => {
        /// A rule of the terms of use, by its ID in `RULES.md` (`E3`, `SK6c`, `D1` …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum RuleId { $( $id ),+ }

        impl RuleId {
            /// Every rule, in `RULES.md` order.
            pub const ALL: &'static [RuleId] = &[ $( RuleId::$id ),+ ];

            /// The ID as `RULES.md` writes it.
            pub const fn as_str(self) -> &'static str {
                match self { $( RuleId::$id => stringify!($id) ),+ }
            }

            /// Whether the rule is a decision this crate computes (a date, a yes/no, a state change).
            /// Not decisions: obligations the organisation carries that software can only record
            /// (J1, SK2 …), and mechanisms a service provides (J5 hashing, J6 the change feed).
            pub const fn is_decision(self) -> bool {
                match self { $( RuleId::$id => $decision ),+ }
            }

            /// One line saying what the rule is about.
            pub const fn title(self) -> &'static str {
                match self { $( RuleId::$id => $title ),+ }
            }
        }
    };
}

rules! {
    // §1 Eligibility
    E1 => (true, "S-JOB is open to K1–K4; junior high and high schools excluded"),
    E2 => (true, "no new admission under a suspension order or an unconfirmed improvement order"),
    E3 => (true, "S-SEEKER: K1, K2, K4 with a regular-employment placement in the 3 months before applying"),
    E4 => (true, "regular employment: no fixed term or a term of 4 months or more; not seasonal"),
    E5 => (true, "renewal refused when E3 no longer holds; the enrolment ends at expiry"),
    E6 => (true, "a renewal whose content changed carries a change application"),
    E7 => (true, "an account email is kept 5 years after closing"),
    E8 => (true, "no re-application for 3 years after revocation"),
    // §2 Accounts
    A1 => (true, "report compromise locks the account and revokes its sessions"),
    A2 => (true, "one contact person and one personal-information manager"),
    // §3 Applications
    AP1 => (true, "application kinds: use, change, renewal, withdrawal"),
    AP2 => (true, "the signed PDF reaches the bureau within the D1 deadline"),
    AP3 => (true, "unsubmitted registrations are deleted after the deadline"),
    AP4 => (true, "registered → submitted → approved / rejected, or expired"),
    AP5 => (true, "the bureau's application email reaches the contact person within D2"),
    // §4 Calendar and periods
    C1 => (true, "administrative holidays: weekends, national holidays, Dec 29 – Jan 3"),
    C2 => (true, "national holidays by the Act on National Holidays"),
    C3 => (true, "a business day is not an administrative holiday"),
    P1 => (true, "N days counted from the day after X end with day X + N"),
    P2 => (true, "months and years end the day before the corresponding day"),
    P3 => (true, "a deadline on an administrative holiday moves to the preceding business day"),
    // §5 Deadlines
    D1 => (true, "application submission deadline: registration + 14 days"),
    D2 => (true, "bureau email: 3rd business day after account registration"),
    D3 => (true, "annual report due Apr 20 after the fiscal year, 1-month grace"),
    D4 => (true, "report reminder on the third Monday of March"),
    D5 => (true, "1-month grace after licence or validity expiry"),
    D6 => (true, "a fixed suspension lasts 6 months"),
    D7 => (true, "revocation starts the E8 bar"),
    D8 => (true, "service validity: 1 year by default, never past the licence expiry"),
    // §6 Job information
    J1 => (false, "job information is used only for placement"),
    J2 => (true, "the feed is served only to active S-JOB organisations"),
    J3 => (false, "changes learnt by the organisation go back to Hello Work through the employer"),
    J4 => (true, "every record carries the Hello Work attribution"),
    J5 => (false, "postings are quoted unaltered: content hash and signature (job-feed mechanism)"),
    J6 => (false, "changes and withdrawals reach subscribers: change feed and tombstones (job-feed mechanism)"),
    J7 => (true, "the labour-condition items no posting may omit"),
    J8 => (true, "organisation-added information is consented and kept apart"),
    J9 => (false, "an accepted posting becomes the organisation's own; its obligations are attested"),
    // §7 Seeker information
    SK1 => (true, "provided seeker information never identifies a person"),
    SK2 => (false, "seeker information only to invite to the organisation's own placement"),
    SK3 => (false, "no deceit; false mandatory information is deceit"),
    SK4 => (false, "no sales against the seeker's will"),
    SK5 => (false, "no provision to third parties"),
    SK6a => (true, "deleted at once when the seeker asks"),
    SK6b => (true, "deleted without delay when the seeker blocks the organisation"),
    SK6c => (true, "deleted when not accepted by the end of the month after next"),
    SK6d => (true, "accepted: deleted more than 1 year after the next fiscal year begins"),
    SK6e => (true, "deleted when the organisation stops using S-SEEKER"),
    SK7 => (true, "the first guidance carries the mandatory information"),
    SK8 => (true, "at most 1,000 guidance sends a JST day per organisation"),
    SK9 => (true, "no identifying contact information exchanged on the site"),
    SK10 => (false, "paid non-placement services to new graduates only when notified"),
    SK11 => (false, "every application through the service is accepted; fees explained first"),
    // §8 Violations and sanctions
    V1 => (true, "licence revoked or an order under the Act: suspended until corrected"),
    V2 => (true, "improper use of job information"),
    V3 => (true, "one-sided promotion in seeker messages"),
    V4 => (true, "excessive sales"),
    V5 => (true, "missed procedure or report"),
    V5b => (true, "false report or fraudulent acquisition: revocation"),
    V6 => (true, "other breaches"),
    V7 => (true, "facts being established: temporary suspension"),
    SN1 => (true, "suspension cuts access, shows 停止中, triggers SK6e"),
    SN2 => (true, "revocation: as SN1, the revoked list and the E8 bar"),
    SN3 => (true, "ops measure requests not complied with: suspension"),
    // §9 Operations
    L1 => (true, "the public organisation list and the revoked list"),
    X1 => (true, "maintenance windows"),
    X2 => (true, "access restriction by rate limits"),
    CP1 => (false, "complaints are recorded and handed over on request"),
    RP1 => (true, "S-JOB annual report contents"),
    RP2 => (true, "S-SEEKER annual report contents"),
    RP3 => (true, "zero reports are required"),
    RP4 => (false, "bureaus may ask for ad-hoc reports"),
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not the ID of any rule in `RULES.md`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule ID {0:?}")]
pub struct UnknownRule(pub String);

impl FromStr for RuleId {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRule(s.to_owned()))
    }
}
