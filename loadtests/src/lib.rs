//! Shared pieces of the HWX benchmarks: a deterministic generator (so runs compare) and timing.

use std::time::{Duration, Instant};

pub use hwx_testkit::Rng;

/// Wall time and this process's CPU time of `f`, best of `rounds`.
pub fn measure<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut best: Option<(Duration, Duration, T)> = None;
    for _ in 0..rounds.max(1) {
        let cpu0 = cpu_time(Who::Own);
        let t0 = Instant::now();
        let out = f();
        let wall = t0.elapsed();
        let cpu = cpu_time(Who::Own).saturating_sub(cpu0);
        if best.as_ref().is_none_or(|(w, _, _)| wall < *w) {
            best = Some((wall, cpu, out));
        }
    }
    best.unwrap_or_else(|| unreachable!("at least one round runs"))
}

/// Whose CPU time to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// This process.
    Own,
    /// Children that have been waited for.
    Children,
}

/// User + system CPU time from `/proc/self/stat` (Linux; USER_HZ is 100 there by ABI), so no unsafe
/// system call is needed. Zero where `/proc` is missing.
pub fn cpu_time(who: Who) -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the parenthesised command name; utime is field 14 of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let (a, b) = match who {
        Who::Own => (11, 12),
        Who::Children => (13, 14),
    };
    let ticks = fields.get(a).copied().unwrap_or(0) + fields.get(b).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}
