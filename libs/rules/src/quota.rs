//! The guidance quota (SK8): at most 1,000 guidance sends per organisation per JST day.

use chrono::{DateTime, Days, FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};

use crate::RuleId;
use crate::error::{Result, RulesError};
use crate::jst;

/// Daily limit of guidance sends per organisation (SK8).
pub const DAILY_GUIDANCE_LIMIT: u32 = 1_000;

/// What an organisation sends to a seeker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// 最初の案内: the first guidance, carrying the mandatory information (SK7).
    FirstGuidance,
    /// 質問への回答: an answer to a seeker's question.
    Answer,
    /// System-sent notice of changed mandatory information (SK7).
    MandatoryInfoChange,
}

impl MessageKind {
    /// Whether the send counts toward SK8. The seed counts 「案内送信等」 = first guidance and
    /// answers; the SK7 change notice is a duty the terms impose, so it is not held against the quota.
    pub const fn counts_toward_quota(self) -> bool {
        !matches!(self, MessageKind::MandatoryInfoChange)
    }
}

/// The guidance quota of one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuidanceQuota {
    pub daily_limit: u32,
}

impl Default for GuidanceQuota {
    fn default() -> Self {
        GuidanceQuota {
            daily_limit: DAILY_GUIDANCE_LIMIT,
        }
    }
}

/// A send the quota refuses: nothing of it may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[error(
    "the daily guidance quota of {limit} is reached: {sent_today} sent today, {requested} more requested; \
     it resets at {} (rule SK8)",
    crate::jst::text(resets_at)
)]
pub struct QuotaExceeded {
    pub limit: u32,
    pub sent_today: u32,
    pub requested: u32,
    /// 00:00 JST of the next day.
    pub resets_at: DateTime<FixedOffset>,
}

impl QuotaExceeded {
    pub const RULE: RuleId = RuleId::SK8;
}

/// What remains after an allowed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuotaGrant {
    pub remaining: u32,
    pub resets_at: DateTime<FixedOffset>,
}

impl GuidanceQuota {
    /// May `n` more counted sends go out at `now`, given `sent_today` already sent this JST day?
    /// All or nothing: a batch that does not fit is refused whole.
    pub fn check<Tz: TimeZone>(
        &self,
        sent_today: u32,
        n: u32,
        now: &DateTime<Tz>,
    ) -> Result<std::result::Result<QuotaGrant, QuotaExceeded>> {
        let resets_at = next_reset(now)?;
        let total = sent_today.checked_add(n);
        Ok(match total {
            Some(t) if t <= self.daily_limit => Ok(QuotaGrant {
                remaining: self.daily_limit - t,
                resets_at,
            }),
            _ => Err(QuotaExceeded {
                limit: self.daily_limit,
                sent_today,
                requested: n,
                resets_at,
            }),
        })
    }
}

/// The instant the quota day of `now` ends: the next 00:00 JST.
pub fn next_reset<Tz: TimeZone>(now: &DateTime<Tz>) -> Result<DateTime<FixedOffset>> {
    let today = jst::day_of(now);
    let tomorrow = today
        .checked_add_days(Days::new(1))
        .ok_or_else(|| RulesError::invalid(RuleId::SK8, format!("{today} out of range")))?;
    Ok(jst::start_of(tomorrow))
}
