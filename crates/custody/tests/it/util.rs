//! Shared helpers of the end-to-end tests: a scratch directory per test, the real
//! `custody serve` as a child process (killed on drop), the CLI as a subprocess,
//! an API client logged in as the first admin, and streamed random files and hashes.
//! The first admin must use a second factor: it enrols TOTP once per data
//! directory (`admin-factor.json` beside it keeps the secret, a multi-factor
//! API token that outlives restarts, and the last time step a code was used
//! for, so that no code is replayed).

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use client::{Client, Trust};
use sha2::{Digest as _, Sha256};

pub const ADMIN_EMAIL: &str = "admin@example.test";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple 42";

/// How long the server may take to print its address.
const STARTUP: Duration = Duration::from_secs(60);

/// Plaintext bytes per encrypted chunk (the server default).
pub const CHUNK: u64 = 1 << 20;
/// Length of the blob header (vault format version 1).
pub const BLOB_HEADER: u64 = 40;
/// Length of each chunk's authentication tag.
pub const TAG: u64 = 16;

/// The `custody` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_custody")
}

/// A command for the binary with no `CUSTODY_*` setting inherited from the caller.
pub fn command() -> Command {
    let mut cmd = Command::new(bin());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CUSTODY_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("CUSTODY_LOG", "info");
    cmd
}

/// One test's scratch directory: `data/` for the server, everything else beside it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// The client profile the CLI uses in this test.
    pub fn profile(&self) -> PathBuf {
        self.path("client.toml")
    }

    /// Starts `custody serve` on `data/`; its log goes to `server-N.log`.
    pub fn serve(&self) -> Server {
        Server::start(&self.data(), self.dir.path(), &[])
    }

    /// [`Scratch::serve`] with `CUSTODY_*` settings in its environment.
    pub fn serve_with(&self, env: &[(&str, String)]) -> Server {
        Server::start(&self.data(), self.dir.path(), env)
    }

    /// Runs the CLI with this test's profile and `env`; returns its output.
    pub fn cli(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.cli_stdin(env, args, "")
    }

    /// Runs the CLI with `input` as its stdin (not a terminal).
    pub fn cli_stdin(&self, env: &[(&str, &str)], args: &[&str], input: &str) -> Output {
        let mut cmd = command();
        cmd.env("CUSTODY_CLIENT_CONFIG", self.profile()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    /// Runs the CLI and asserts success; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(&[], args);
        assert_success(&out, args);
        String::from_utf8(out.stdout).unwrap()
    }

    /// `custody login` as the admin, with a one-time code, trusting the
    /// server by its fingerprint.
    pub async fn cli_login(&self, server: &Server) {
        let code = server.admin_code().await;
        let args = [
            "login",
            "--url",
            &server.url,
            "--email",
            ADMIN_EMAIL,
            "--fingerprint",
            &server.fingerprint,
            "--totp",
            &code,
        ];
        let out = self.cli(&[("CUSTODY_PASSWORD", ADMIN_PASSWORD)], &args);
        assert_success(&out, &args);
    }
}

pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "custody {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the `key  value` line of a command's output.
pub fn field(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(key)).then(|| words.collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}"))
}

/// A running `custody serve`; killed (SIGKILL) when dropped unless stopped first.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub fingerprint: String,
    /// `http://ADDR/metrics`, when the server was started with a metrics listener.
    pub metrics: Option<String>,
    pub data: PathBuf,
    pub log: PathBuf,
}

static STARTS: AtomicU64 = AtomicU64::new(0);

/// `custody serve` on `data`, on a free port, with the test admin's
/// bootstrap credentials and no standard input.
pub fn serve_command(data: &Path) -> Command {
    let mut serve = command();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("CUSTODY_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("CUSTODY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null());
    serve
}

impl Server {
    /// Starts `custody serve` on another data directory `data` (a restored
    /// backup, say); its log goes beside the others in `logs`.
    pub fn start_on(data: &Path, logs: &Path) -> Server {
        Server::start(data, logs, &[])
    }

    /// [`Server::start_on`] with `CUSTODY_*` settings in its environment.
    pub fn start_on_with(data: &Path, logs: &Path, env: &[(&str, String)]) -> Server {
        Server::start(data, logs, env)
    }

    fn start(data: &Path, logs: &Path, env: &[(&str, String)]) -> Server {
        let log = logs.join(format!(
            "server-{}.log",
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        let mut serve = serve_command(data);
        for (k, v) in env {
            serve.env(k, v);
        }
        let mut child = serve
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _test_done = tx.send(line);
            }
        });
        let (mut url, mut fingerprint, mut metrics) = (None, None, None);
        let deadline = Instant::now() + STARTUP;
        while url.is_none() || fingerprint.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "the server printed no address within {STARTUP:?}; log:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if let Some(rest) = line.strip_prefix("metrics on ") {
                metrics = Some(rest.trim().to_owned());
            }
            if let Some(rest) = line.strip_prefix("listening on ") {
                url = Some(rest.trim().to_owned());
            }
            if let Some(rest) = line.strip_prefix("tls certificate sha256 fingerprint: ") {
                fingerprint = Some(rest.trim().to_owned());
            }
        }
        Server {
            child: Some(child),
            url: url.unwrap(),
            fingerprint: fingerprint.unwrap(),
            metrics,
            data: data.to_owned(),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// A field of `/proc/<pid>/status` in KiB (e.g. `VmHWM`, `VmRSS`).
    pub fn status_kib(&self, field: &str) -> u64 {
        proc_status_kib(self.pid(), field).unwrap()
    }

    /// SIGTERM, then wait for a clean exit (the server closes its database).
    ///
    /// `custody serve` installs its SIGTERM handler only after printing its
    /// address, so a SIGTERM sent at once may kill it outright; one answered
    /// request first shows the server loop (and the handler) is running.
    pub async fn stop(mut self) {
        raw_http()
            .get(format!("{}/api/v1/openapi.json", self.url))
            .send()
            .await
            .unwrap();
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = wait_timeout(&mut child, Duration::from_secs(30));
        assert!(exit.success(), "the server exited with {exit}");
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// An API client of the admin, with its multi-factor token.
    pub async fn admin(&self) -> Client {
        let trust = Trust::Fingerprint(client::parse_fingerprint(&self.fingerprint).unwrap());
        let mut c = Client::new(&self.url, trust, None).unwrap();
        c.set_token(Some(self.admin_factor().await.token));
        c
    }

    /// Where the admin's second factor is kept for this data directory.
    fn factor_file(&self) -> PathBuf {
        self.data.with_file_name("admin-factor.json")
    }

    /// The admin's second factor, enrolled through the API on first use.
    async fn admin_factor(&self) -> AdminFactor {
        if let Ok(text) = fs::read_to_string(self.factor_file()) {
            return serde_json::from_str(&text).unwrap();
        }
        let api = |path: &str| format!("{}/api/v1{path}", self.url);
        let http = raw_http();
        let call = |req: reqwest::RequestBuilder| async move {
            let answer = req.send().await.unwrap();
            let status = answer.status();
            let body: serde_json::Value = answer.json().await.unwrap();
            assert!(status.is_success(), "{status}: {body}");
            body
        };
        let login = serde_json::json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
        let first = call(http.post(api("/auth/login")).json(&login)).await;
        let first = first["token"].as_str().unwrap().to_owned();
        let begun = call(http.post(api("/auth/totp")).bearer_auth(&first)).await;
        let secret = base32_decode(begun["secret"].as_str().unwrap());
        let step = app::totp::step_of(now_ms());
        let code = serde_json::json!({"code": totp_code(&secret, step)});
        let confirmed = call(
            http.post(api("/auth/totp/confirm"))
                .bearer_auth(&first)
                .json(&code),
        )
        .await;
        let factor = AdminFactor {
            token: confirmed["token"].as_str().unwrap().to_owned(),
            secret,
            last_step: step,
        };
        factor.save(&self.factor_file());
        factor
    }

    /// A one-time code of the admin's that no sign-in used yet (waiting, when
    /// need be, for the server's clock to reach its time step).
    pub async fn admin_code(&self) -> String {
        let mut factor = self.admin_factor().await;
        let step = (factor.last_step + 1).max(app::totp::step_of(now_ms()));
        // The server accepts the step after its current one: wait until then.
        let opens_ms = (step - 1) * 30_000;
        let wait = opens_ms - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64 + 200)).await;
        }
        factor.last_step = step;
        factor.save(&self.factor_file());
        totp_code(&factor.secret, step)
    }

    /// The admin's recent audit events (`GET /api/v1/events`).
    pub async fn events(&self, admin: &Client) -> Vec<serde_json::Value> {
        let answer: serde_json::Value = raw_http()
            .get(format!("{}/api/v1/events?limit=1000", self.url))
            .bearer_auth(admin.token().unwrap())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["items"].as_array().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- server log `{}`:\n{log}", self.log.display());
        }
    }
}

/// The first admin's second factor (see the module's documentation).
#[derive(serde::Serialize, serde::Deserialize)]
struct AdminFactor {
    token: String,
    secret: Vec<u8>,
    last_step: i64,
}

impl AdminFactor {
    fn save(&self, path: &Path) {
        fs::write(path, serde_json::to_string(self).unwrap()).unwrap();
    }
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// The 6-digit code of `secret` at TOTP time step `step`.
fn totp_code(secret: &[u8], step: i64) -> String {
    format!("{:06}", app::totp::code_at(secret, step, 6))
}

/// RFC 4648 base32 without padding, as the enrolment answer carries it.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u64, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// A reqwest client for calls the `client` crate does not offer. It accepts any
/// certificate: the tests pin the server through the `client` crate elsewhere.
pub fn raw_http() -> reqwest::Client {
    let _already = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for a child to exit, killing it and failing the test after `limit`.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pseudo-random bytes (splitmix64), different in every call.
pub fn random_bytes(len: usize) -> Vec<u8> {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut state = nanos ^ CALLS.fetch_add(1, Ordering::Relaxed).rotate_left(32);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `len` pseudo-random bytes to `path` in 1 MiB blocks (never all in
/// memory): one random block, each copy stamped with its index.
pub fn write_random_file(path: &Path, len: u64) {
    let block = random_bytes(CHUNK as usize);
    let mut file = std::io::BufWriter::new(fs::File::create(path).unwrap());
    let mut written = 0u64;
    let mut index = 0u64;
    let mut buf = block.clone();
    while written < len {
        buf[..8].copy_from_slice(&index.to_le_bytes());
        let n = (len - written).min(CHUNK) as usize;
        file.write_all(&buf[..n]).unwrap();
        written += n as u64;
        index += 1;
    }
    file.into_inner().unwrap().sync_all().unwrap();
}

/// Lower-case hex SHA-256 of a file, read in 1 MiB pieces.
pub fn sha256_file(path: &Path) -> String {
    let mut file = fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK as usize];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hex::encode(hasher.finalize())
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

/// The committed blob files (`data/blobs/<shard>/<id>`, not `tmp/`).
pub fn blob_files(data: &Path) -> BTreeSet<PathBuf> {
    let blobs = data.join("blobs");
    files_under(&blobs)
        .into_iter()
        .filter(|p| !p.starts_with(blobs.join("tmp")))
        .collect()
}
