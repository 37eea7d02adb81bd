//! The processes a chaos run owns: its own PostgreSQL (initdb into a temporary directory), its own
//! nats-server with JetStream, and each HWX role as its own `hwx serve <role>` process. Each runs
//! in a process group of its own, so SIGKILL takes the whole server (a postmaster and its
//! backends) at once, as a crash would.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a process is, for the kill schedule and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Role,
    Nats,
    Postgres,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Role => "a role process",
            Kind::Nats => "NATS",
            Kind::Postgres => "PostgreSQL",
        }
    }
}

/// One restartable process.
pub struct Proc {
    pub name: String,
    pub kind: Kind,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Run as this user and group (PostgreSQL refuses to run as root).
    user: Option<(u32, u32)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Proc {
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        // Through setpriv --pdeathsig: if the harness dies (Ctrl-C, a killed test), its servers
        // die with it rather than run on.
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--"])
            .arg(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }

        self.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name)),
        );
    }

    /// SIGKILL to the process, its children and its group, and wait for it: a crash of the
    /// whole server. It is stopped first so that it forks nothing meanwhile; PostgreSQL's
    /// backends leave the postmaster's group (setsid), so they are killed as its children.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-STOP", &pid]).status();
            let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Still running (not exited on its own)?
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port free on loopback now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn user_ids(name: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn pg_bindir() -> PathBuf {
    let out = Command::new("pg_config").arg("--bindir").output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => PathBuf::from("/usr/lib/postgresql/15/bin"),
    }
}

/// Everything one run started, under one temporary directory.
pub struct Cluster {
    pub dir: PathBuf,
    pub pg_port: u16,
    pub nats_port: u16,
    pub procs: Vec<Proc>,
    pub gateways: Vec<SocketAddr>,
}

impl Cluster {
    pub fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/hwx", self.pg_port)
    }

    /// Start PostgreSQL and NATS, seed the demo accounts, then the roles: two registration
    /// replicas, one job feed, two gateways (each gateway dials one registration replica).
    pub async fn start(hwx: &Path) -> Cluster {
        let dir = std::env::temp_dir().join(format!("hwx-chaos-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let pg_user = if root {
            Some(
                user_ids("postgres")
                    .expect("running as root: a postgres user to run PostgreSQL as"),
            )
        } else {
            None
        };
        let pgdata = dir.join("pgdata");
        std::fs::create_dir_all(&pgdata).unwrap();
        if let Some((uid, gid)) = pg_user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&pgdata, Some(uid), Some(gid)).unwrap();
        }
        let bindir = pg_bindir();
        let mut initdb = Command::new(bindir.join("initdb"));
        initdb
            .args(["-D"])
            .arg(&pgdata)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some((uid, gid)) = pg_user {
            initdb.uid(uid).gid(gid);
        }
        let out = initdb.output().expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg_port = free_port();
        let nats_port = free_port();
        let logs = dir.join("logs");
        let mut procs = vec![
            Proc {
                name: "postgres".into(),
                kind: Kind::Postgres,
                program: bindir.join("postgres"),
                args: vec![
                    "-D".into(),
                    pgdata.to_string_lossy().into_owned(),
                    "-p".into(),
                    pg_port.to_string(),
                    "-k".into(),
                    pgdata.to_string_lossy().into_owned(),
                    "-c".into(),
                    "listen_addresses=127.0.0.1".into(),
                    // A killed server, not a lost machine: the OS keeps what was written.
                    "-c".into(),
                    "fsync=off".into(),
                    "-c".into(),
                    "max_connections=300".into(),
                ],
                env: vec![],
                user: pg_user,
                log: logs.join("postgres.log"),
                child: None,
            },
            Proc {
                name: "nats".into(),
                kind: Kind::Nats,
                program: PathBuf::from("nats-server"),
                args: vec![
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    nats_port.to_string(),
                    "-js".into(),
                    "-sd".into(),
                    dir.join("nats").to_string_lossy().into_owned(),
                ],
                env: vec![],
                user: None,
                log: logs.join("nats.log"),
                child: None,
            },
        ];
        for p in &mut procs {
            p.start();
        }
        let mut cluster = Cluster {
            dir,
            pg_port,
            nats_port,
            procs,
            gateways: Vec::new(),
        };
        cluster.wait_for_port(pg_port, "PostgreSQL").await;
        cluster.wait_for_port(nats_port, "NATS").await;
        let base = cluster.base_env();
        // The demo accounts (bureau officers, operations, Hello Work, approved organisations).
        let out = Command::new(hwx)
            .args(["demo", "seed"])
            .envs(base.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hwx demo seed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let (r1, r2, jf, g1, g2) = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        );
        let (s1, s2) = (free_port(), free_port());
        let role = |name: &str, role: &str, env: Vec<(&str, String)>| {
            let mut all = base.clone();
            all.extend(env.into_iter().map(|(k, v)| (k.to_owned(), v)));
            Proc {
                name: name.into(),
                kind: Kind::Role,
                program: hwx.to_path_buf(),
                args: vec!["serve".into(), role.into()],
                env: all,
                user: None,
                log: logs.join(format!("{name}.log")),
                child: None,
            }
        };
        let url = |p: u16| format!("http://127.0.0.1:{p}");
        let addr = |p: u16| format!("127.0.0.1:{p}");
        let mut roles = vec![
            role(
                "registration-1",
                "registration",
                vec![("HWX_REGISTRATION_ADDR", addr(r1))],
            ),
            role(
                "registration-2",
                "registration",
                vec![("HWX_REGISTRATION_ADDR", addr(r2))],
            ),
            role(
                "job-feed",
                "job-feed",
                vec![
                    ("HWX_JOB_FEED_ADDR", addr(jf)),
                    ("HWX_REGISTRATION_URL", url(r1)),
                ],
            ),
            role(
                "seeker-matching-1",
                "seeker-matching",
                vec![
                    ("HWX_SEEKER_MATCHING_ADDR", addr(s1)),
                    ("HWX_REGISTRATION_URL", url(r1)),
                ],
            ),
            role(
                "seeker-matching-2",
                "seeker-matching",
                vec![
                    ("HWX_SEEKER_MATCHING_ADDR", addr(s2)),
                    ("HWX_REGISTRATION_URL", url(r2)),
                ],
            ),
            role(
                "gateway-1",
                "gateway",
                vec![
                    ("HWX_GATEWAY_ADDR", addr(g1)),
                    ("HWX_REGISTRATION_URL", url(r1)),
                    ("HWX_JOB_FEED_URL", url(jf)),
                    ("HWX_SEEKER_MATCHING_URL", url(s1)),
                ],
            ),
            role(
                "gateway-2",
                "gateway",
                vec![
                    ("HWX_GATEWAY_ADDR", addr(g2)),
                    ("HWX_REGISTRATION_URL", url(r2)),
                    ("HWX_JOB_FEED_URL", url(jf)),
                    ("HWX_SEEKER_MATCHING_URL", url(s2)),
                ],
            ),
        ];
        for r in &mut roles {
            r.start();
        }
        cluster.procs.extend(roles);
        for p in [r1, r2, jf, s1, s2, g1, g2] {
            cluster.wait_for_port(p, "a role").await;
        }
        cluster.gateways = vec![
            SocketAddr::from(([127, 0, 0, 1], g1)),
            SocketAddr::from(([127, 0, 0, 1], g2)),
        ];
        cluster
    }

    fn base_env(&self) -> Vec<(String, String)> {
        [
            ("HWX_DATABASE_URL", self.database_url()),
            (
                "HWX_NATS_URL",
                format!("nats://127.0.0.1:{}", self.nats_port),
            ),
            ("HWX_SUBJECT_PREFIX", String::new()),
            ("HWX_LOG_FILTER", "info,sqlx=warn,async_nats=warn".into()),
            // One line per event: the mailbox reads sign-up tokens from the notices in it.
            ("HWX_LOG_FORMAT", "json".into()),
            ("HWX_RATE_LIMIT_PER_SECOND", "100000".into()),
            ("HWX_RATE_LIMIT_BURST", "100000".into()),
            ("HWX_MAINTENANCE", "off".into()),
            ("HWX_CLOCK", "system".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    async fn wait_for_port(&mut self, port: u16, what: &str) {
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what} did not listen on {port} within 60 s (logs in {})",
                self.dir.join("logs").display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every process still running (none exited on its own).
    pub fn all_running(&mut self) -> Vec<String> {
        self.procs
            .iter_mut()
            .filter_map(|p| (!p.running()).then(|| p.name.clone()))
            .collect()
    }

    /// Stop everything and remove the directory (kept when `keep`, for reading the logs).
    pub fn finish(mut self, keep: bool) -> PathBuf {
        // Services first, so they do not log a storm of reconnects at the servers' end.
        for p in self.procs.iter_mut().rev() {
            p.kill();
        }
        let dir = self.dir.clone();
        if !keep {
            let _ = std::fs::remove_dir_all(&dir);
        }
        dir
    }
}
