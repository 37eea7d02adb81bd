//! Every service the binary has. `hwx serve <name>`, `hwx migrate`, the configuration
//! (`services.<name>`, `HWX_<NAME>_ADDR`), `hwx services` and the chart's `services` values (checked
//! against `hwx services --json` by `scripts/check-chart`) all follow this list. Adding a service is
//! one entry here, and its crate.

use hwx_platform::config::Config;
use hwx_platform::kit::{self, ServiceSpec};

/// In start order: a service comes after those it dials, so `hwx serve all` on free ports (port 0)
/// hands each the real address of the ones before.
pub const SERVICES: &[&ServiceSpec] = &[
    &hwx_registration::SERVICE,
    &hwx_job_feed::SERVICE,
    &hwx_seeker_matching::SERVICE,
    &hwx_gateway::SERVICE,
];

/// The service called `name`.
pub fn find(name: &str) -> Option<&'static ServiceSpec> {
    SERVICES.iter().copied().find(|s| s.name == name)
}

/// `all` and every service name: what `hwx serve` accepts.
pub fn roles() -> Vec<&'static str> {
    std::iter::once("all")
        .chain(SERVICES.iter().map(|s| s.name))
        .collect()
}

/// `all` and every service with a schema: what `hwx migrate` accepts.
pub fn schemas() -> Vec<&'static str> {
    std::iter::once("all")
        .chain(
            SERVICES
                .iter()
                .filter(|s| s.schema().is_some())
                .map(|s| s.name),
        )
        .collect()
}

/// The services `name` stands for (`all`: every one).
pub fn select(name: &str) -> Vec<&'static ServiceSpec> {
    if name == "all" {
        SERVICES.to_vec()
    } else {
        find(name).into_iter().collect()
    }
}

/// The configuration from `HWX_CONFIG` and `HWX_*`, with every service of the registry.
pub fn config() -> Result<Config, String> {
    Config::from_env(&kit::ports(SERVICES)).map_err(|e| format!("configuration: {e}"))
}
