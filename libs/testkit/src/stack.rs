//! Services started through the kit, as `hwx serve` starts them, for a test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use hwx_platform::clock::{SharedClock, SystemClock};
use hwx_platform::config::{Config, Endpoint, Secret};
use hwx_platform::db::Database;
use hwx_platform::kit::{self, Host, Running, ServiceSpec};

use crate::{TestEnv, database_url, nats_url};

/// Connections of each service's pool in a test: the job feed keeps four for its other work
/// and serves snapshots with the rest.
const CONNECTIONS: u32 = 8;

/// Running services of one test: each on a free port, in the test's schemas and stream.
#[allow(missing_debug_implementations)] // holds running servers
pub struct Stack {
    pub env: TestEnv,
    host: Host,
    running: Vec<Running>,
    dbs: BTreeMap<&'static str, Database>,
}

/// How a [`Stack`] is set up before it starts.
#[allow(missing_debug_implementations)]
pub struct StackBuilder {
    specs: Vec<&'static ServiceSpec>,
    clock: SharedClock,
    config: Config,
}

impl Stack {
    /// `specs`, in the order given (a service after those it dials), on the system clock.
    pub async fn start(specs: &[&'static ServiceSpec]) -> Stack {
        Self::with(specs).start().await
    }

    /// Set the clock or the configuration first.
    pub fn with(specs: &[&'static ServiceSpec]) -> StackBuilder {
        let lookup = |_: &str| None;
        let mut config = Config::load(None, lookup, &kit::ports(specs))
            .unwrap_or_else(|e| panic!("the default configuration: {e}"));
        config.database_url = Secret::new(database_url());
        config.nats_url = nats_url();
        for endpoint in config.services.values_mut() {
            endpoint.addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        StackBuilder {
            specs: specs.to_vec(),
            clock: Arc::new(SystemClock),
            config,
        }
    }

    /// Where service `name` listens.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.running
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.addr)
            .unwrap_or_else(|| panic!("{name} is not started in this stack"))
    }

    /// `http://` and its address.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}", self.addr(name))
    }

    /// Service `name`'s database (its schema in this test).
    pub fn db(&self, name: &str) -> Database {
        self.dbs
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} has no database in this stack"))
    }

    /// Stop every service (servers drain, relays flush), wait for all of them, and drop the
    /// test's schemas and stream.
    pub async fn stop(self) {
        self.host.stop();
        for r in self.running {
            r.join().await;
        }
        drop(self.dbs);
        let failure = self.host.failure();
        self.env.cleanup().await;
        // A part that failed stopped everything: the test says so rather than leaving only the
        // errors of the calls that came after.
        if let Some(f) = failure {
            panic!("a service part failed during the test: {f}");
        }
    }
}

impl StackBuilder {
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// A service this stack does not start, reached at `url` (a port nothing listens on, to see
    /// how the others answer without it).
    pub fn peer(mut self, name: &str, url: &str) -> Self {
        self.config.services.insert(
            name.to_owned(),
            Endpoint {
                addr: None,
                url: url.to_owned(),
            },
        );
        self
    }

    /// Change a setting (rate limits, maintenance windows …) before the services start.
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    pub async fn start(self) -> Stack {
        let env = TestEnv::new().await;
        let mut config = self.config;
        config.subject_prefix = env.id.clone();
        let mut host = Host::new(config, self.clock, env.events());
        let mut running = Vec::new();
        let mut dbs = BTreeMap::new();
        for spec in self.specs {
            let db = match spec.schema() {
                Some(schema) => {
                    let db = env
                        .database_with(&schema, spec.migrations, CONNECTIONS)
                        .await;
                    dbs.insert(spec.name, db.clone());
                    Some(db)
                }
                None => None,
            };
            let r = host
                .start_with(spec, db)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            running.push(r);
        }
        Stack {
            env,
            host,
            running,
            dbs,
        }
    }
}
