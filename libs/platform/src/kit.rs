//! The service kit: a service is described once ([`ServiceSpec`]: name, port, migrations, how to
//! build it) and the kit starts, supervises, drains and joins everything it runs.
//!
//! What a service's `build` returns ([`Parts`]) is its domain: the gRPC service (or, for the
//! gateway, an HTTP server), the event consumers, the periodic sweeps, and any other background
//! task. The kit adds what every service has: its schema and role (migrated at start), the outbox
//! relay, health and reflection, trace context and request IDs on every call, one leader per sweep,
//! metrics (and, with `metrics_addr`, one Prometheus `/metrics` endpoint per process), and a stop
//! that drains requests, flushes the outbox and waits for every task.
//!
//! The binary's registry (`hwx::registry::SERVICES`) lists the specs; `hwx serve <name>`,
//! `hwx migrate`, the configuration (`services.<name>`), the test stack and the chart's values all
//! follow from it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::db::{Database, Migration};
use crate::events::{ConsumerSpec, Events, Handler, Outbox, Relay};
use crate::grpc;
use crate::leader::{Election, Elector};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How a service is built from its [`Context`].
pub type Build = fn(Context) -> BoxFuture<Result<Parts, String>>;

/// What the service speaks on its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    Http,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::Http => "http",
        }
    }
}

/// A service, described once.
#[derive(Clone, Copy)]
pub struct ServiceSpec {
    /// The name: `hwx serve <name>`, the chart's `services.<name>`, the Kubernetes Service, the
    /// event producer, and (with `_` for `-`) the schema.
    pub name: &'static str,
    /// The default port.
    pub port: u16,
    pub protocol: Protocol,
    /// Its schema's migrations, the platform's outbox/inbox first; none for a service without a
    /// schema (the gateway).
    pub migrations: &'static [Migration],
    pub build: Build,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .field("port", &self.port)
            .finish()
    }
}

impl ServiceSpec {
    /// A gRPC service.
    pub const fn grpc(
        name: &'static str,
        port: u16,
        migrations: &'static [Migration],
        build: Build,
    ) -> Self {
        ServiceSpec {
            name,
            port,
            protocol: Protocol::Grpc,
            migrations,
            build,
        }
    }

    /// An HTTP service (the gateway).
    pub const fn http(
        name: &'static str,
        port: u16,
        migrations: &'static [Migration],
        build: Build,
    ) -> Self {
        ServiceSpec {
            name,
            port,
            protocol: Protocol::Http,
            migrations,
            build,
        }
    }

    /// The schema it owns (`job_feed`), if any.
    pub fn schema(&self) -> Option<String> {
        (!self.migrations.is_empty()).then(|| self.name.replace('-', "_"))
    }
}

/// Names and default ports of `specs`, for [`Config::load`].
pub fn ports(specs: &[&ServiceSpec]) -> Vec<(&'static str, u16)> {
    specs.iter().map(|s| (s.name, s.port)).collect()
}

/// What a service's `build` gets.
#[derive(Clone)]
pub struct Context {
    pub spec: &'static ServiceSpec,
    /// Where it listens (bound already: the real port when 0 was asked for).
    pub addr: SocketAddr,
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub events: Events,
    /// Turns `true` when the process stops: long-lived work (streams) ends on it.
    pub shutdown: watch::Receiver<bool>,
    db: Option<Database>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("service", &self.spec.name)
            .finish()
    }
}

impl Context {
    /// The service's database (its schema, migrated).
    pub fn db(&self) -> Result<Database, String> {
        self.db
            .clone()
            .ok_or_else(|| format!("{} has no schema", self.spec.name))
    }

    /// Its outbox: events stamped with this service as producer and its clock.
    pub fn outbox(&self) -> Outbox {
        Outbox::new(self.spec.name, self.clock.clone())
    }

    /// A client of service `peer` (its URL from the configuration). `timeout` ends each call;
    /// none for streams.
    pub fn client(&self, peer: &str, timeout: Option<Duration>) -> Result<grpc::Client, String> {
        let url = self.config.url(peer);
        grpc::client(&url, timeout).map_err(|e| format!("{}: {peer}: {e}", self.spec.name))
    }

    /// Who calls, through registration (which owns the sessions).
    pub fn authenticator(&self) -> Result<Authenticator, String> {
        Ok(Authenticator::remote(
            self.client("registration", Some(Duration::from_secs(10)))?,
        ))
    }
}

type TaskFn = Box<dyn FnOnce(watch::Receiver<bool>) -> BoxFuture<()> + Send>;
type ConsumerFn = Box<dyn FnOnce(Database, Events, watch::Receiver<bool>) -> BoxFuture<()> + Send>;
type HttpFn =
    Box<dyn FnOnce(TcpListener, watch::Receiver<bool>) -> BoxFuture<std::io::Result<()>> + Send>;

enum Server {
    Grpc {
        routes: tonic::service::Routes,
        names: Vec<&'static str>,
    },
    Http(HttpFn),
}

/// Periodic singleton work: run every `every` on the one replica that leads.
#[derive(Clone)]
pub struct Sweep {
    name: &'static str,
    every: Duration,
    /// What a non-zero count means, for the log (`AP3: unsubmitted applications deleted`).
    what: &'static str,
    run: Arc<dyn Fn() -> BoxFuture<Result<u64, String>> + Send + Sync>,
}

impl std::fmt::Debug for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweep")
            .field("name", &self.name)
            .field("every", &self.every)
            .finish()
    }
}

impl Sweep {
    /// `run` returns how many things it did. It must be idempotent: a new leader may run it
    /// again right after the old one.
    pub fn new<F, Fut>(name: &'static str, every: Duration, what: &'static str, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<u64, String>> + Send + 'static,
    {
        Sweep {
            name,
            every,
            what,
            run: Arc::new(move || Box::pin(run())),
        }
    }
}

/// What a service runs, besides what the kit adds.
pub struct Parts {
    server: Server,
    consumers: Vec<(String, ConsumerFn)>,
    sweeps: Vec<Sweep>,
    tasks: Vec<(&'static str, TaskFn)>,
    note: Option<String>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("sweeps", &self.sweeps)
            .field("consumers", &self.consumers.len())
            .field("tasks", &self.tasks.len())
            .finish()
    }
}

impl Parts {
    /// A gRPC service (the generated `…Server`, with its message limits set).
    pub fn grpc<S>(service: S) -> Self
    where
        S: tower_service::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + tonic::server::NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Self::with(Server::Grpc {
            routes: tonic::service::Routes::new(service),
            names: vec![S::NAME],
        })
    }

    /// An HTTP server (the gateway): `serve` runs on the bound listener until the stop signal.
    pub fn http<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(TcpListener, watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        Self::with(Server::Http(Box::new(move |l, s| Box::pin(serve(l, s)))))
    }

    fn with(server: Server) -> Self {
        Parts {
            server,
            consumers: Vec::new(),
            sweeps: Vec::new(),
            tasks: Vec::new(),
            note: None,
        }
    }

    /// A durable consumer of events, applied through the service's inbox.
    pub fn consumer<H: Handler>(mut self, spec: ConsumerSpec, handler: H) -> Self {
        let name = spec.name.clone();
        self.consumers.push((
            name,
            Box::new(move |db, events, shutdown| {
                Box::pin(crate::events::run_consumer(
                    db, events, spec, handler, shutdown,
                ))
            }),
        ));
        self
    }

    pub fn sweep(mut self, sweep: Sweep) -> Self {
        self.sweeps.push(sweep);
        self
    }

    /// Another task that runs until the stop signal (a NOTIFY listener, say).
    pub fn task<F, Fut>(mut self, name: &'static str, run: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push((name, Box::new(move |s| Box::pin(run(s)))));
        self
    }

    /// A word for the start-up line (`signing key 8c31…`).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// What every service of one process shares: settings, clock, event stream, the stop signal.
#[derive(Clone)]
pub struct Host {
    pub config: Config,
    pub clock: SharedClock,
    pub events: Events,
    stop: Arc<watch::Sender<bool>>,
    /// The first part that failed, which stopped everything.
    failure: Arc<std::sync::Mutex<Option<String>>>,
    /// Whether the Prometheus endpoint (`metrics_addr`) was started: once per host, however many
    /// services it starts.
    metrics_started: Arc<AtomicBool>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

/// How often a relay looks for staged events when no NOTIFY woke it.
const RELAY_POLL: Duration = Duration::from_millis(500);

impl Host {
    pub fn new(config: Config, clock: SharedClock, events: Events) -> Self {
        let (stop, _) = watch::channel(false);
        Host {
            config,
            clock,
            events,
            stop: Arc::new(stop),
            failure: Arc::default(),
            metrics_started: Arc::default(),
        }
    }

    /// Why everything stopped, when a part failed rather than the stop signal.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The stop signal every part listens to.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stop everything started here: servers drain, relays flush.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Stop on SIGINT or SIGTERM.
    pub fn stop_on_signal(&self) {
        let stop = self.stop.clone();
        tokio::spawn(async move {
            crate::shutdown::wait_for_signal().await;
            tracing::info!("shutting down: draining requests and flushing the outbox");
            stop.send_replace(true);
        });
    }

    /// Start `spec`: migrate and open its schema, build it, listen on its configured address, and
    /// run its relay, consumers, sweeps and tasks. Other services reach it at the URL recorded
    /// here (so a later start in this process dials the port it really got).
    pub async fn start(&mut self, spec: &'static ServiceSpec) -> Result<Running, String> {
        let db = match spec.schema() {
            None => None,
            Some(schema) => Some(
                Database::open(
                    self.config.database_url.expose(),
                    &schema,
                    self.config.database_max_connections,
                    spec.migrations,
                )
                .await
                .map_err(|e| format!("{}: {e}", spec.name))?,
            ),
        };
        self.start_with(spec, db).await
    }

    /// Start `spec` on a database the caller opened (tests use a schema of their own).
    pub async fn start_with(
        &mut self,
        spec: &'static ServiceSpec,
        db: Option<Database>,
    ) -> Result<Running, String> {
        let addr = self.config.addr(spec.name);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{}: cannot listen on {addr}: {e}", spec.name))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("{}: {e}", spec.name))?;
        // A port 0 became a real one: the services started after this dial it.
        if let Some(e) = self.config.services.get_mut(spec.name) {
            e.addr = Some(addr);
            if e.url.is_empty() || e.url.ends_with(":0") {
                e.url = format!("http://{addr}");
            }
        }
        // With the first service: the process's Prometheus endpoint, if configured. It ends on the
        // stop signal, and the first service's `join` waits for it.
        let metrics = self.start_metrics().await?;
        let cx = Context {
            spec,
            addr,
            config: Arc::new(self.config.clone()),
            clock: self.clock.clone(),
            events: self.events.clone(),
            shutdown: self.shutdown(),
            db: db.clone(),
        };
        let parts = (spec.build)(cx)
            .await
            .map_err(|e| format!("{}: {e}", spec.name))?;
        if db.is_none() && !(parts.consumers.is_empty() && parts.sweeps.is_empty()) {
            return Err(format!(
                "{}: consumers and sweeps need a schema (migrations)",
                spec.name
            ));
        }
        let (relay_stop, relay_stopped) = watch::channel(false);
        let mut running = Running {
            name: spec.name,
            protocol: spec.protocol,
            addr,
            note: parts.note,
            db: db.clone(),
            tasks: Vec::new(),
            relay_stop,
            relays: Vec::new(),
        };
        running.tasks.extend(metrics);
        let shutdown = self.shutdown();
        match parts.server {
            Server::Grpc { routes, names } => {
                let t = self.supervise(spec.name, "grpc", async move {
                    grpc::serve(routes, &names, listener, shutdown).await
                });
                running.tasks.push(t);
            }
            Server::Http(serve) => {
                let t = self.supervise(spec.name, "http", async move {
                    serve(listener, shutdown).await.map_err(|e| e.to_string())
                });
                running.tasks.push(t);
            }
        }
        if let Some(db) = &db {
            // The relay stops last, after the server has drained and the consumers have ended:
            // what they committed is published before the process exits (`Running::join`).
            let relay = Relay::new(db.clone(), self.events.clone());
            let t = self.supervise(spec.name, "relay", async move {
                relay.run(relay_stopped, RELAY_POLL).await;
                Ok(())
            });
            running.relays.push(t);
            for (name, consumer) in parts.consumers {
                let run = consumer(db.clone(), self.events.clone(), self.shutdown());
                let t = self.supervise(spec.name, &name, async move {
                    run.await;
                    Ok(())
                });
                running.tasks.push(t);
            }
            for sweep in parts.sweeps {
                let name = sweep.name;
                let run = sweep_loop(sweep, db.clone(), self.clock.clone(), self.shutdown());
                let t = self.supervise(spec.name, name, async move {
                    run.await;
                    Ok(())
                });
                running.tasks.push(t);
            }
        }
        for (name, task) in parts.tasks {
            let run = task(self.shutdown());
            let t = self.supervise(spec.name, name, async move {
                run.await;
                Ok(())
            });
            running.tasks.push(t);
        }
        tracing::info!(service = spec.name, %addr, "serving");
        Ok(running)
    }

    /// Start the Prometheus endpoint on `metrics_addr` unless this host has started it already
    /// (`hwx serve all` starts several services, and a process has one endpoint). A port that
    /// cannot be had fails the start: a misconfigured scrape target should be loud. The address
    /// it got is recorded in the configuration (port 0 in tests becomes a real one).
    async fn start_metrics(&mut self) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
        let Some(addr) = self.config.metrics_addr else {
            return Ok(None);
        };
        if self.metrics_started.swap(true, Ordering::SeqCst) {
            return Ok(None);
        }
        let bound = TcpListener::bind(addr)
            .await
            .and_then(|listener| listener.local_addr().map(|local| (listener, local)));
        let (listener, addr) = match bound {
            Ok(bound) => bound,
            Err(e) => {
                // Not started: a later start may try again.
                self.metrics_started.store(false, Ordering::SeqCst);
                return Err(format!(
                    "HWX_METRICS_ADDR (metrics_addr): cannot serve /metrics on {addr}: {e}"
                ));
            }
        };
        self.config.metrics_addr = Some(addr);
        let shutdown = self.shutdown();
        let task = self.supervise("metrics", "http", async move {
            crate::prometheus::serve(listener, shutdown)
                .await
                .map_err(|e| e.to_string())
        });
        tracing::info!(%addr, "Prometheus metrics on http://{addr}/metrics");
        Ok(Some(task))
    }

    /// Run `work` as part of `running`. Work that ends (or panics) before the stop signal takes the
    /// process down with it, so the orchestrator restarts a whole process rather than keeping one
    /// that silently lacks a part.
    fn supervise(
        &self,
        service: &str,
        part: &str,
        work: impl Future<Output = Result<(), String>> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let label = format!("{service}/{part}");
        let stop = self.stop.clone();
        let failure = self.failure.clone();
        let inner = tokio::spawn(work);
        tokio::spawn(async move {
            let outcome = inner.await;
            let stopping = *stop.borrow();
            let why = match outcome {
                Ok(Ok(())) if stopping => return,
                Ok(Ok(())) => "ended before the stop signal".to_owned(),
                Ok(Err(e)) => format!("failed: {e}"),
                Err(e) => format!("panicked: {e}"),
            };
            tracing::error!(part = %label, "{why}; stopping");
            failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get_or_insert(format!("{label} {why}"));
            stop.send_replace(true);
        })
    }
}

/// One sweep, on one replica at a time (a Lease in Kubernetes, a Postgres advisory lock
/// elsewhere), timed into `hwx.sweep.duration`. The leader is per schema (`registration-ap3`), so
/// deployments sharing a database each sweep their own. A stop ends a round in progress: a sweep is
/// idempotent, and its transaction rolls back.
async fn sweep_loop(
    sweep: Sweep,
    db: Database,
    clock: SharedClock,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = format!("{}-{}", db.schema().replace('_', "-"), sweep.name);
    let round = async {
        let mut leader = Election::new(&name, &db, clock).await;
        loop {
            if leader.acquire().await {
                let started = std::time::Instant::now();
                match (sweep.run)().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sweep = sweep.name, count = n, "{}", sweep.what),
                    Err(e) => {
                        tracing::warn!(sweep = sweep.name, error = %e, "sweep failed; it runs again next round")
                    }
                }
                crate::metrics::sweep(sweep.name, started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(sweep.every).await;
        }
    };
    tokio::select! {
        _ = round => {}
        _ = shutdown.wait_for(|s| *s) => {}
    }
}

/// A started service.
#[derive(Debug)]
pub struct Running {
    pub name: &'static str,
    pub protocol: Protocol,
    /// Where it listens (the real port when 0 was asked for).
    pub addr: SocketAddr,
    pub note: Option<String>,
    pub db: Option<Database>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    relay_stop: watch::Sender<bool>,
    relays: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// The start-up line `hwx serve` prints.
    pub fn banner(&self) -> String {
        match (self.protocol, &self.note) {
            (Protocol::Grpc, None) => format!(
                "{} gRPC on {} (health and reflection included)",
                self.name, self.addr
            ),
            (Protocol::Grpc, Some(n)) => format!(
                "{} gRPC on {} (health and reflection included; {n})",
                self.name, self.addr
            ),
            (Protocol::Http, None) => format!("{} on http://{}", self.name, self.addr),
            (Protocol::Http, Some(n)) => format!("{} on http://{} ({n})", self.name, self.addr),
        }
    }

    /// Wait until every part has stopped (after the stop signal, or a failure): the server
    /// drains, consumers, sweeps and tasks end, then the relay publishes what they committed and
    /// stops.
    pub async fn join(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        self.relay_stop.send_replace(true);
        for t in self.relays {
            let _ = t.await;
        }
    }
}
