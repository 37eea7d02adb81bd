//! Shared pieces of the HWX benchmarks: a deterministic generator (so runs compare) and timing.

use std::time::{Duration, Instant};

/// A small deterministic generator (SplitMix64): the same seed gives the same workload on every
/// machine, and no dependency is needed for it.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

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
