//! The client commands (`login`, `rooms`, `ls`, `put`, `get`, `logout`): each
//! resolves where the server is and how to trust it (the `CUSTODY_*` environment
//! first, then the profile `custody login` saved), makes one or two calls through
//! the `client` crate and prints the answer for a person to read.

mod profile;
mod terminal;

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use client::{Client, ClientError, FileId, Progress, RoomId, Trust};

use profile::Profile;

/// Where `custody serve` listens by default.
const DEFAULT_URL: &str = "https://127.0.0.1:8443";

/// Commands that speak to a Custody server over HTTPS with an API token.
#[derive(Subcommand)]
pub enum ClientCommand {
    /// Sign in and save the server, the token and its trust in the client profile.
    ///
    /// The profile is `CUSTODY_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/custody/client.toml`,
    /// else `~/.config/custody/client.toml` (mode 0600). The password comes from
    /// `CUSTODY_PASSWORD`, else the terminal without echo (or one line of stdin).
    /// Other client commands read `CUSTODY_URL`, `CUSTODY_TOKEN`, `CUSTODY_FINGERPRINT`
    /// and `CUSTODY_CA_FILE` first, then the profile.
    Login(LoginArgs),
    /// Revoke the token and remove it from the client profile.
    Logout,
    /// Data rooms.
    Rooms {
        #[command(subcommand)]
        command: RoomsCommand,
    },
    /// List the files of a room (their newest version).
    Ls {
        /// Id of the room.
        room: String,
    },
    /// Upload a file as a new version, with a progress bar.
    Put {
        /// Id of the room.
        room: String,
        /// The local file to upload.
        local: PathBuf,
        /// Path inside the room. Default: the local file name.
        remote: Option<String>,
        /// Why this content may leave or enter despite what the room's
        /// data-loss policy found, for rooms whose policy asks for one.
        #[arg(long)]
        justification: Option<String>,
    },
    /// Download the newest version of a file, with a progress bar.
    ///
    /// The content is checked against its sha256 before it replaces `OUT_FILE`;
    /// nothing is left behind when the check fails.
    Get {
        /// Id of the file.
        file: String,
        /// Where to write the content.
        out_file: PathBuf,
        /// Why this content may leave despite what the room's data-loss policy
        /// found, for rooms whose policy asks for one.
        #[arg(long)]
        justification: Option<String>,
    },
}

/// `custody rooms …`
#[derive(Subcommand)]
pub enum RoomsCommand {
    /// The rooms you can see and your role in each.
    List,
    /// Create a room; you become its manager.
    Create {
        /// Name of the room.
        name: String,
        /// public, internal, confidential or restricted.
        #[arg(long)]
        classification: String,
    },
}

/// `custody login …`
#[derive(Args)]
pub struct LoginArgs {
    /// Server URL. Default `https://127.0.0.1:8443`.
    #[arg(long, env = "CUSTODY_URL")]
    url: Option<String>,
    /// Account email; asked for when absent.
    #[arg(long, env = "CUSTODY_EMAIL")]
    email: Option<String>,
    /// Current code of the authenticator app, when the account has TOTP.
    #[arg(long)]
    totp: Option<String>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (as
    /// `custody serve` prints it).
    #[arg(long, conflicts_with = "ca_file")]
    fingerprint: Option<String>,
    /// Validate the server certificate against the CA roots in this PEM file.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Without `--fingerprint` or `--ca-file`: pin whatever certificate the server
    /// presents now. Compare the printed fingerprint with the server's first.
    #[arg(long)]
    insecure_trust_on_first_use: bool,
}

/// Runs one client command.
pub async fn run(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Login(args) => login(args).await,
        ClientCommand::Logout => logout().await,
        ClientCommand::Rooms {
            command: RoomsCommand::List,
        } => rooms_list().await,
        ClientCommand::Rooms {
            command:
                RoomsCommand::Create {
                    name,
                    classification,
                },
        } => rooms_create(&name, &classification).await,
        ClientCommand::Ls { room } => ls(RoomId::from(room)).await,
        ClientCommand::Put {
            room,
            local,
            remote,
            justification,
        } => put(RoomId::from(room), &local, remote, justification).await,
        ClientCommand::Get {
            file,
            out_file,
            justification,
        } => get(FileId::from(file), &out_file, justification).await,
    }
}

/// A client error as the user sees it: the server's code and message for a
/// refusal, the error itself otherwise.
/// An upload that was stored but is held for review: not a failure of the
/// command (the bytes are on the server) and not a usable file either, so it
/// has its own exit code ([`HeldUpload::EXIT_CODE`]) and wording.
#[derive(Debug)]
pub(crate) struct HeldUpload(pub String);

impl HeldUpload {
    pub(crate) const EXIT_CODE: u8 = 3;
}

impl std::fmt::Display for HeldUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HeldUpload {}

/// What to tell the user when the server asks for a justification: this
/// command's own flag, not the protocol's header.
const JUSTIFY_HINT: &str =
    "run the command again with `--justification \"<why this transfer is needed>\"`";

pub(crate) fn explain(e: ClientError) -> anyhow::Error {
    let trust_failure = e.is_trust_failure();
    let err = match e {
        ClientError::Held { .. } => return anyhow::Error::new(HeldUpload(e.to_string())),
        ClientError::Api {
            ref code,
            ref message,
            ..
        } if code == "dlp_justification_required" => {
            anyhow!("`{code}`: {message}; {JUSTIFY_HINT}")
        }
        ClientError::Api {
            code,
            message,
            request_id: Some(id),
            ..
        } => anyhow!("`{code}`: {message} (request id `{id}`)"),
        ClientError::Api { code, message, .. } => anyhow!("`{code}`: {message}"),
        other => anyhow!(with_deeper_causes(&other)),
    };
    if trust_failure {
        err.context(
            "the server is not the one trusted at login; check its fingerprint with its operator",
        )
    } else {
        err
    }
}

/// The error's message, then the causes below its own source (which the client
/// errors already quote in their message), so nothing is printed twice.
fn with_deeper_causes(e: &ClientError) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e).and_then(std::error::Error::source);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// How to trust the server, from a fingerprint and a CA file (at most one).
fn trust_of(fingerprint: Option<&str>, ca_file: Option<&Path>) -> anyhow::Result<Trust> {
    match (fingerprint, ca_file) {
        (Some(_), Some(_)) => bail!("give a fingerprint or a CA file, not both"),
        (Some(fp), None) => Ok(Trust::Fingerprint(
            client::parse_fingerprint(fp).map_err(explain)?,
        )),
        (None, Some(ca)) => Ok(Trust::CaFile(ca.to_owned())),
        (None, None) => Ok(Trust::System),
    }
}

/// A client for the server in the environment (`CUSTODY_URL`, `CUSTODY_TOKEN`,
/// `CUSTODY_FINGERPRINT` / `CUSTODY_CA_FILE`) or else the profile. The profile's
/// token and trust are used only for the profile's own server.
fn connect() -> anyhow::Result<Client> {
    connect_to(None)
}

/// [`connect`] to `url` when given (else `CUSTODY_URL`, else the profile's).
pub(crate) fn connect_to(url: Option<String>) -> anyhow::Result<Client> {
    let path = profile::path()?;
    let saved = Profile::load(&path)?;
    let url = url
        .or_else(|| env("CUSTODY_URL"))
        .or_else(|| saved.as_ref().map(|p| p.url.clone()))
        .ok_or_else(|| anyhow!("no server: run `custody login` or set `CUSTODY_URL`"))?;
    let saved = saved.filter(|p| same_server(&p.url, &url));
    let token = env("CUSTODY_TOKEN")
        .or_else(|| saved.as_ref().and_then(|p| p.token.clone()))
        .ok_or_else(|| {
            anyhow!("not logged in to `{url}`: run `custody login` or set `CUSTODY_TOKEN`")
        })?;
    let (env_fp, env_ca) = (env("CUSTODY_FINGERPRINT"), env("CUSTODY_CA_FILE"));
    let trust = if env_fp.is_some() || env_ca.is_some() {
        trust_of(env_fp.as_deref(), env_ca.as_deref().map(Path::new))
            .context("bad `CUSTODY_FINGERPRINT` / `CUSTODY_CA_FILE`")?
    } else {
        let p = saved.unwrap_or_default();
        trust_of(p.fingerprint.as_deref(), p.ca_file.as_deref())
            .with_context(|| format!("bad client profile `{}`", path.display()))?
    };
    Client::new(&url, trust, Some(token)).map_err(explain)
}

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

async fn login(args: LoginArgs) -> anyhow::Result<()> {
    let url = args.url.unwrap_or_else(|| DEFAULT_URL.to_owned());
    let trust = match (args.fingerprint.as_deref(), args.ca_file.as_deref()) {
        (None, None) => trust_on_first_use(&url, args.insecure_trust_on_first_use).await?,
        (fp, ca) => trust_of(fp, ca)?,
    };
    let email = match args.email {
        Some(e) => e,
        None => terminal::prompt_line("email: ")?,
    };
    let password = match env("CUSTODY_PASSWORD") {
        Some(p) => p,
        None => terminal::prompt_secret(&format!("password for `{email}`: "))?,
    };
    let client = Client::new(&url, trust.clone(), None).map_err(explain)?;
    let answer = match client.login(&email, &password, args.totp.as_deref()).await {
        Err(ClientError::Api { code, .. }) if code == "mfa_required" && args.totp.is_none() => {
            let code = terminal::prompt_line("authenticator code: ")?;
            client.login(&email, &password, Some(&code)).await
        }
        other => other,
    }
    .map_err(explain)?;
    let (fingerprint, ca_file) =
        match trust {
            Trust::Fingerprint(fp) => (Some(hex::encode(fp)), None),
            Trust::CaFile(ca) => (
                None,
                Some(std::path::absolute(&ca).with_context(|| {
                    format!("cannot resolve the CA file path `{}`", ca.display())
                })?),
            ),
            Trust::System => (None, None),
        };
    let saved = Profile {
        url: url.clone(),
        token: Some(answer.token),
        fingerprint,
        ca_file,
    };
    let path = profile::path()?;
    saved.save(&path)?;
    println!(
        "logged in to {url} as `{}` ({}); the token expires {}",
        answer.user.email, answer.user.system_role, answer.expires_at
    );
    println!("saved the client profile `{}`", path.display());
    if answer.user.mfa_required && !answer.user.totp_enabled {
        eprintln!(
            "this account must use a second factor: set up an authenticator app at \
             {}/totp in a browser, then log in again with `--totp`",
            url.trim_end_matches('/')
        );
    }
    Ok(())
}

/// Fetches the fingerprint the server presents and pins it only when allowed.
async fn trust_on_first_use(url: &str, allowed: bool) -> anyhow::Result<Trust> {
    let fp = client::fetch_fingerprint(url).await.map_err(explain)?;
    eprintln!("the server at {url} presents a certificate with sha256 fingerprint:");
    eprintln!("  {}", hex::encode(fp));
    if !allowed {
        bail!(
            "refusing to trust `{url}` unverified: compare the fingerprint above with the one \
             `custody serve` printed, then pass it with `--fingerprint` (or give `--ca-file`, \
             or `--insecure-trust-on-first-use`)"
        );
    }
    eprintln!("trusting it because of `--insecure-trust-on-first-use`");
    Ok(Trust::Fingerprint(fp))
}

async fn logout() -> anyhow::Result<()> {
    let client = connect()?;
    let revoked = client.logout().await;
    let path = profile::path()?;
    if let Some(mut saved) = Profile::load(&path)?
        && saved.token.is_some()
        && saved.token.as_deref() == client.token()
    {
        saved.token = None;
        saved.save(&path)?;
        println!("removed the token from `{}`", path.display());
    }
    match revoked {
        Ok(()) => {
            println!("logged out");
            Ok(())
        }
        Err(ClientError::Api { status: 401, .. }) => {
            println!("the token had already expired or been revoked");
            Ok(())
        }
        Err(e) => Err(explain(e)),
    }
}

async fn rooms_list() -> anyhow::Result<()> {
    let rooms = connect()?.list_rooms().await.map_err(explain)?;
    let rows: Vec<Vec<String>> = rooms
        .into_iter()
        .map(|r| {
            let role = r.role.unwrap_or_else(|| "-".to_owned());
            vec![r.id.0, r.name, r.classification, role]
        })
        .collect();
    print!(
        "{}",
        terminal::table(&["ID", "NAME", "CLASSIFICATION", "ROLE"], &rows)
    );
    Ok(())
}

async fn rooms_create(name: &str, classification: &str) -> anyhow::Result<()> {
    let room = connect()?
        .create_room(name, classification)
        .await
        .map_err(explain)?;
    println!("room            {}", room.id);
    println!("name            {}", room.name);
    println!("classification  {}", room.classification);
    Ok(())
}

async fn ls(room: RoomId) -> anyhow::Result<()> {
    let files = connect()?.list_files(&room).await.map_err(explain)?;
    let rows: Vec<Vec<String>> = files
        .into_iter()
        .map(|f| {
            vec![
                f.id.0,
                f.path,
                f.size.to_string(),
                f.version.to_string(),
                f.updated_at,
            ]
        })
        .collect();
    print!(
        "{}",
        terminal::table(&["ID", "PATH", "SIZE", "VERSION", "UPDATED"], &rows)
    );
    Ok(())
}

async fn put(
    room: RoomId,
    local: &Path,
    remote: Option<String>,
    justification: Option<String>,
) -> anyhow::Result<()> {
    let remote = match remote {
        Some(r) => r,
        None => local
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                anyhow!(
                    "`{}` has no usable file name: give the remote path",
                    local.display()
                )
            })?,
    };
    let info = connect()?
        .with_justification(justification)
        .put_file(&room, &remote, local, Progress::Auto)
        .await
        .map_err(explain)?;
    println!("file     {}", info.id);
    println!("path     {}", info.path);
    println!("version  {}", info.version);
    println!("size     {}", info.size);
    println!("sha256   {}", info.sha256);
    Ok(())
}

async fn get(file: FileId, out: &Path, justification: Option<String>) -> anyhow::Result<()> {
    let info = connect()?
        .with_justification(justification)
        .get_file(&file, out, Progress::Auto)
        .await
        .map_err(explain)?;
    println!("file     {}", info.id);
    println!("path     {}", info.path);
    println!("version  {}", info.version);
    println!("size     {}", info.size);
    println!("sha256   {}", info.sha256);
    println!("saved    {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_justification_message_names_the_cli_flag_not_the_header() {
        let e = explain(ClientError::Api {
            status: 422,
            code: "dlp_justification_required".into(),
            message: "this download needs a justification".into(),
            request_id: None,
        });
        let text = format!("{e:#}");
        assert!(text.contains("--justification"), "{text}");
        assert!(!text.contains("custody-justification"), "{text}");
    }

    #[test]
    fn regression_held_upload_is_reported_apart_from_failures() {
        let e = explain(ClientError::Held {
            version: "v1".into(),
            why: "high findings: x x1".into(),
        });
        assert!(e.downcast_ref::<HeldUpload>().is_some());
        assert_ne!(HeldUpload::EXIT_CODE, 1);
        let other = explain(ClientError::BadResponse { detail: "x".into() });
        assert!(other.downcast_ref::<HeldUpload>().is_none());
    }

    fn check(fingerprint: Option<&str>, ca: Option<&str>, expected: Result<Trust, &str>) {
        let got = trust_of(fingerprint, ca.map(Path::new)).map_err(|e| format!("{e:#}"));
        match (got, expected) {
            (Ok(t), Ok(want)) => assert_eq!(t, want),
            (Err(e), Err(needle)) => assert!(e.contains(needle), "{e}"),
            (got, want) => panic!("{fingerprint:?} {ca:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn trust_choices() {
        let hex = "ab".repeat(32);
        check(None, None, Ok(Trust::System));
        check(Some(&hex), None, Ok(Trust::Fingerprint([0xab; 32])));
        check(None, Some("ca.pem"), Ok(Trust::CaFile("ca.pem".into())));
        check(Some(&hex), Some("ca.pem"), Err("not both"));
        check(
            Some("zz"),
            None,
            Err("invalid certificate fingerprint `zz`"),
        );
    }

    fn check_explained(e: ClientError, expected: &str) {
        assert_eq!(format!("{:#}", explain(e)), expected);
    }

    #[test]
    fn errors_as_the_user_sees_them() {
        let api = |request_id: Option<&str>| ClientError::Api {
            status: 400,
            code: "path_traversal".into(),
            message: "the path contains `..`".into(),
            request_id: request_id.map(str::to_owned),
        };
        check_explained(api(None), "`path_traversal`: the path contains `..`");
        check_explained(
            api(Some("r1")),
            "`path_traversal`: the path contains `..` (request id `r1`)",
        );
        let io = ClientError::Io {
            path: "a.bin".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        check_explained(io, "local file `a.bin`: gone");
        let pin = ClientError::FingerprintMismatch {
            actual: "AB:CD".into(),
        };
        check_explained(
            pin,
            "the server is not the one trusted at login; check its fingerprint with its \
             operator: server certificate fingerprint AB:CD does not match the pinned fingerprint",
        );
    }
}
