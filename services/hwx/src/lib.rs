//! The `hwx` binary's commands as a library, so benchmarks and tests drive the same code the
//! command line runs.

pub mod demo;
pub mod feed;
pub mod load;
pub mod postings;
pub mod registry;
pub mod rules;
pub mod seekers;
pub mod serve;
