//! `custody ledger …`: the ledger's offline tools and its evidence export.
//!
//! `verify` checks evidence without a server: either a full export of entries
//! against a signed checkpoint and the verifier key (every leaf hash recomputed
//! from the exact bytes, every decoded event compared with the decoding of those
//! bytes, the indices 0..size, the Merkle root of all leaves), or an evidence
//! bundle on its own (its checkpoint's signature by the key it carries, every
//! leaf hash, every inclusion proof to the checkpoint's root). `export` fetches
//! a bundle from a server; `check` audits the stored log of a data directory.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use app::ledger::{BUNDLE_FORMAT, Bundle, BundleEntry, is_redaction};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Subcommand;
use ledger::{Checkpoint, EventLeaf, LeafView, LedgerError, RootBuilder, Verifier, leaf_hash};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The event filters `export` passes on.
const FILTERS: &[&str] = &[
    "actor", "party", "room", "file", "action", "outcome", "from", "to", "after", "limit",
];

/// The ledger commands.
#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Verify evidence offline; exit 0 only when everything verifies.
    ///
    /// Either an evidence bundle (`--bundle`, from `custody ledger export`), or
    /// an export of every entry (`--entries`) with `--checkpoint` and `--key`.
    Verify {
        /// An evidence bundle; it carries its checkpoint and verifier key.
        #[arg(long, conflicts_with_all = ["entries", "checkpoint"])]
        bundle: Option<PathBuf>,
        /// The entries, as `GET /api/v1/ledger/entries` returns them (JSON lines).
        #[arg(long, required_unless_present = "bundle", requires = "checkpoint")]
        entries: Option<PathBuf>,
        /// The signed checkpoint, as `GET /api/v1/ledger/checkpoint` returns it.
        #[arg(long, requires = "entries")]
        checkpoint: Option<PathBuf>,
        /// The verifier key, as `GET /api/v1/ledger/verifier-key` returns it.
        /// With `--bundle`, the bundle's key must be this one.
        #[arg(long, required_unless_present = "bundle")]
        key: Option<PathBuf>,
    },
    /// Fetch an evidence bundle of selected events from a server: their exact
    /// leaf bytes, an inclusion proof of each against one signed checkpoint,
    /// the checkpoint and the verifier key. The client profile and `CUSTODY_*`
    /// environment are used as by the other client commands.
    Export {
        /// Server URL (default `CUSTODY_URL`, else the profile's).
        #[arg(long)]
        url: Option<String>,
        /// Event filters as `NAME=VALUE`: actor, party, room, file (ids), action
        /// (`file.download`, or a prefix such as `file.`), outcome, from, to
        /// (RFC 3339), after (a sequence number), limit (at most 10000).
        #[arg(long, num_args = 0.., value_name = "NAME=VALUE")]
        events: Vec<String>,
        /// The bundle file to write, or a directory to write
        /// `custody-evidence-<size>.json` into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Audit the stored ledger of a data directory (server stopped): every leaf
    /// hash, every stored node, every checkpoint's root, every event row against
    /// its leaf. Names the first bad leaf index; exit 0 only when intact.
    Check {
        #[command(flatten)]
        args: crate::ServerArgs,
    },
}

/// Runs a ledger command.
pub async fn run(command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Verify {
            bundle: Some(bundle),
            key,
            ..
        } => {
            let bundle = parse_bundle(&read(&bundle)?)?;
            if let Some(key) = key {
                let key = read(&key)?;
                if key.trim_end() != bundle.verifier_key {
                    bail!(
                        "the bundle's verifier key `{}` is not the given key `{}`",
                        bundle.verifier_key,
                        key.trim_end()
                    );
                }
            }
            println!("{}", verify_bundle(&bundle)?);
            Ok(())
        }
        LedgerCommand::Verify {
            entries: Some(entries),
            checkpoint: Some(checkpoint),
            key: Some(key),
            ..
        } => {
            let key = read(&key)?;
            let note = read(&checkpoint)?;
            let file = std::fs::File::open(&entries)
                .with_context(|| format!("cannot open `{}`", entries.display()))?;
            let size = verify(key.trim_end(), &note, file)?;
            println!("ok: {size} entries verify against checkpoint of size {size}");
            Ok(())
        }
        LedgerCommand::Verify { .. } => {
            bail!("give `--bundle`, or `--entries`, `--checkpoint` and `--key`")
        }
        LedgerCommand::Export { url, events, out } => export(url, &events, &out).await,
        LedgerCommand::Check { args } => check(args).await,
    }
}

/// `custody ledger export`.
async fn export(url: Option<String>, events: &[String], out: &Path) -> anyhow::Result<()> {
    let query = filters(events)?;
    let client = crate::cli::connect_to(url)?;
    let text = client
        .ledger_bundle(&query)
        .await
        .map_err(crate::cli::explain)?;
    let bundle = parse_bundle(&text).context("the server sent a bad bundle")?;
    let summary =
        verify_bundle(&bundle).context("the server sent a bundle that does not verify")?;
    let path = if out.is_dir() {
        out.join(format!("custody-evidence-{}.json", summary.size))
    } else {
        out.to_owned()
    };
    write_new(&path, text.as_bytes())?;
    println!(
        "wrote {} entries ({} redacted) with inclusion proofs against checkpoint of size {} to `{}`",
        summary.entries,
        summary.redacted,
        summary.size,
        path.display()
    );
    println!("verifier key: {}", bundle.verifier_key);
    Ok(())
}

/// The `NAME=VALUE` filters, checked against [`FILTERS`].
fn filters(events: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    events
        .iter()
        .map(|f| {
            let (name, value) = f
                .split_once('=')
                .with_context(|| format!("the filter `{f}` is not `NAME=VALUE`"))?;
            if !FILTERS.contains(&name) {
                bail!("unknown filter `{name}`; known: {}", FILTERS.join(", "));
            }
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle.json".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::File::open(&tmp).and_then(|f| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _already_gone = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write `{}`", path.display()))
}

/// `custody ledger check`.
async fn check(args: crate::ServerArgs) -> anyhow::Result<()> {
    let config = crate::load_config(args, None)?;
    if !config.data_dir.is_dir() {
        bail!("no data directory `{}`", config.data_dir.display());
    }
    let opened = crate::serve::open(&config).await?;
    let report = app::Audit(&opened.app)
        .audit_ledger()
        .await
        .map_err(|e| anyhow::anyhow!("cannot audit the ledger: {e}"))?;
    opened.store.close().await;
    let counts = format!(
        "{} leaves ({} redacted), {} nodes, {} checkpoints",
        report.leaves, report.redacted, report.nodes, report.checkpoints
    );
    let Some(first) = report.first() else {
        println!(
            "ok: the stored ledger of size {} is intact: {counts}",
            report.size
        );
        return Ok(());
    };
    for fault in report.faults.iter().take(20) {
        eprintln!("fault: {}", fault.message);
    }
    bail!(
        "the stored ledger of size {} has {} faults; the first: {} ({counts})",
        report.size,
        report.faults.len(),
        first.message
    )
}

/// What a verified bundle holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    pub entries: usize,
    pub redacted: usize,
    pub size: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok: {} entries ({} redacted) verify against checkpoint of size {}",
            self.entries, self.redacted, self.size
        )
    }
}

pub(crate) fn parse_bundle(text: &str) -> anyhow::Result<Bundle> {
    let value: serde_json::Value = serde_json::from_str(text).context("the bundle is not JSON")?;
    let format = value["format"].as_str().unwrap_or_default();
    if format != BUNDLE_FORMAT {
        bail!("not a custody evidence bundle (format `{format}`, expected `{BUNDLE_FORMAT}`)");
    }
    serde_json::from_value(value).context("the bundle is malformed")
}

/// Verifies a bundle on its own: the checkpoint's signature by the bundle's
/// key, then each entry in order; names the first bad item.
pub fn verify_bundle(bundle: &Bundle) -> anyhow::Result<Summary> {
    let checkpoint = signed_checkpoint(&bundle.verifier_key, &bundle.checkpoint)?;
    let mut redacted = 0;
    for entry in &bundle.entries {
        check_bundle_entry(entry, &checkpoint)?;
        redacted += usize::from(entry.redacted);
    }
    Ok(Summary {
        entries: bundle.entries.len(),
        redacted,
        size: checkpoint.size,
    })
}

/// The checkpoint in `note`, signed by `key`, whose origin is the key's name.
fn signed_checkpoint(key: &str, note: &str) -> anyhow::Result<Checkpoint> {
    let verifier =
        Verifier::parse(key).with_context(|| format!("the verifier key `{key}` is not valid"))?;
    let body = verifier.verify(note).map_err(|e| {
        anyhow::anyhow!("checkpoint signature does not verify with key `{key}`: {e}")
    })?;
    let checkpoint = Checkpoint::parse(&body).context("the checkpoint is not valid")?;
    if checkpoint.origin != verifier.name() {
        bail!(
            "checkpoint origin `{}` is not the key's name `{}`",
            checkpoint.origin,
            verifier.name()
        );
    }
    Ok(checkpoint)
}

/// One bundle entry: its bytes against its hash (unless redacted), its event
/// against its bytes, its proof from its hash to the checkpoint's root.
fn check_bundle_entry(entry: &BundleEntry, checkpoint: &Checkpoint) -> anyhow::Result<()> {
    let i = entry.index;
    let hash = check_leaf(entry)?;
    let size = checkpoint.size;
    if i >= size {
        bail!("entry {i} is beyond the checkpoint of size {size}");
    }
    let proof = entry
        .proof
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("entry {i}: no inclusion proof"))?
        .iter()
        .enumerate()
        .map(|(k, h)| {
            STANDARD
                .decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("entry {i}: proof hash {k} is not 32 bytes of base64")
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    match ledger::verify_inclusion(&hash, i, size, &proof, &checkpoint.root) {
        Ok(()) => Ok(()),
        Err(LedgerError::ProofLength { expected, actual }) => bail!(
            "entry {i}: inclusion proof has {actual} hashes where a tree of size {size} needs {expected}"
        ),
        Err(_) => bail!("entry {i}: inclusion proof does not lead to the checkpoint root"),
    }
}

/// A hash from exactly 64 lowercase hex digits.
fn hash_of_hex(text: &str) -> Option<ledger::Hash> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (slot, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let [high, low] = pair else {
            return None;
        };
        *slot = (nibble(*high)? << 4) | nibble(*low)?;
    }
    Some(hash)
}

/// The value of one lowercase hex digit.
fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Verifies the export read from `entries`; returns the checkpoint size.
/// Redacted entries count by the original leaf hash they carry.
fn verify(key: &str, note: &str, entries: impl Read) -> anyhow::Result<u64> {
    let checkpoint = signed_checkpoint(key, note)?;
    let size = checkpoint.size;
    let mut tree = RootBuilder::new();
    let mut blocks = Blocks::new(entries, VERIFY_BLOCK);
    // Lines are parsed and checked in parallel, a block at a time; the
    // results are then taken in order, so the first fault reported is the
    // first in the file, as with one thread.
    loop {
        let block = blocks
            .next_block()
            .with_context(|| format!("cannot read entry {}", tree.size()))?;
        if block.is_empty() {
            break;
        }
        for line in check_lines(block) {
            let next = tree.size();
            let (index, hash) = match line {
                Line::Unreadable(e) => {
                    return Err(e).with_context(|| format!("cannot read entry {next}"));
                }
                Line::Invalid => bail!("entry {next}: not a valid export line"),
                Line::Parsed { index, hash } => (index, hash),
            };
            check_index(index, next, size)?;
            tree.push(hash?).context("cannot build the tree")?;
        }
    }
    if tree.size() < size {
        bail!("entry {} missing", tree.size());
    }
    if tree.root() != checkpoint.root {
        bail!("root mismatch: the entries do not produce the checkpoint's root");
    }
    Ok(size)
}

/// Bytes of the export read and checked at a time (grown for a longer line).
const VERIFY_BLOCK: usize = 8 << 20;

/// The export read in large blocks, each handed out as a run of whole lines.
struct Blocks<R> {
    reader: R,
    buf: Vec<u8>,
    /// Bytes of `buf` read.
    filled: usize,
    /// Bytes of `buf` handed out by the last [`Blocks::next_block`].
    taken: usize,
    eof: bool,
    /// A read error, reported once the whole lines before it are handed out.
    failed: Option<std::io::Error>,
}

impl<R: Read> Blocks<R> {
    fn new(reader: R, capacity: usize) -> Self {
        Blocks {
            reader,
            buf: vec![0; capacity.max(1)],
            filled: 0,
            taken: 0,
            eof: false,
            failed: None,
        }
    }

    /// The next whole lines (at the end of the input, the last may lack its
    /// newline); empty at the end.
    fn next_block(&mut self) -> std::io::Result<&[u8]> {
        self.buf.copy_within(self.taken..self.filled, 0);
        self.filled -= self.taken;
        self.taken = 0;
        loop {
            if let Some(e) = self.failed.take() {
                return Err(e);
            }
            self.fill();
            let read = self.buf.get(..self.filled).unwrap_or_default();
            let cut = match memchr::memrchr(b'\n', read) {
                _ if self.eof => Some(self.filled),
                Some(at) => Some(at + 1),
                None if self.failed.is_some() => Some(0),
                None => None,
            };
            match cut {
                Some(cut) if cut > 0 || self.eof || self.failed.is_none() => {
                    self.taken = cut;
                    return Ok(self.buf.get(..cut).unwrap_or_default());
                }
                Some(_) => {}
                // A line longer than the buffer: make room for more.
                None => self.buf.resize(self.buf.len() * 2, 0),
            }
        }
    }

    /// Reads until the buffer is full, the input ends or a read fails.
    fn fill(&mut self) {
        while !self.eof && self.failed.is_none() {
            let Some(free) = self.buf.get_mut(self.filled..).filter(|f| !f.is_empty()) else {
                return;
            };
            match self.reader.read(free) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => self.failed = Some(e),
            }
        }
    }
}

/// One export line, parsed and its leaf checked (all but its position).
enum Line {
    Unreadable(std::io::Error),
    Invalid,
    Parsed {
        index: u64,
        hash: anyhow::Result<ledger::Hash>,
    },
}

/// An export line as it is parsed for verification: the fields of a
/// [`BundleEntry`], borrowed from the line where JSON allows it, the event
/// kept as its text until the leaf is decoded to compare it with.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportLine<'a> {
    index: u64,
    #[serde(borrow)]
    leaf: Cow<'a, str>,
    #[serde(borrow)]
    leaf_hash: Cow<'a, str>,
    #[serde(default)]
    redacted: bool,
    #[serde(borrow)]
    event: &'a RawValue,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted as in a bundle entry; an export has no proofs"
    )]
    proof: Option<Vec<String>>,
}

/// Checks one line (without its newline); `bytes` is a buffer to reuse.
fn check_line(line: &[u8], bytes: &mut Vec<u8>) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(line) = std::str::from_utf8(line) else {
        return Line::Unreadable(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ));
    };
    match serde_json::from_str::<ExportLine<'_>>(line) {
        Ok(entry) => Line::Parsed {
            index: entry.index,
            hash: check_export_leaf(&entry, bytes),
        },
        Err(_) => Line::Invalid,
    }
}

/// [`check_line`] on every line of `block`, on every core, results in order.
fn check_lines(block: &[u8]) -> Vec<Line> {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut parts = Vec::with_capacity(workers);
    let mut rest = block;
    for k in (1..=workers).rev() {
        // Each part ends at the first newline after its share of the rest.
        let target = rest.len() / k;
        let cut = match rest
            .get(target..)
            .and_then(|tail| memchr::memchr(b'\n', tail))
        {
            Some(at) if k > 1 => target + at + 1,
            _ => rest.len(),
        };
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    let check_part = |part: &[u8]| {
        let mut bytes = Vec::new();
        let mut checked = Vec::new();
        let mut rest = part;
        // A part ends with a newline except at the end of the input.
        while !rest.is_empty() {
            let (line, tail) = match memchr::memchr(b'\n', rest) {
                Some(at) => (rest.get(..at), rest.get(at + 1..)),
                None => (Some(rest), None),
            };
            checked.push(check_line(line.unwrap_or_default(), &mut bytes));
            rest = tail.unwrap_or_default();
        }
        checked
    };
    std::thread::scope(|scope| {
        let (last, others) = parts.split_last().unwrap_or((&block, &[]));
        let handles: Vec<_> = others
            .iter()
            .map(|part| scope.spawn(|| check_part(part)))
            .collect();
        let last = check_part(last);
        let mut lines = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(part) => lines.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        lines.extend(last);
        lines
    })
}

/// The entry at position `next` must carry index `next`, below `size`.
fn check_index(index: u64, next: u64, size: u64) -> anyhow::Result<()> {
    if index > next {
        bail!("entry {next} missing (entry {index} found in its place)");
    }
    if index < next {
        bail!("entry {index} appears again after entry {}", next - 1);
    }
    if index >= size {
        bail!("entry {index} is beyond the checkpoint of size {size}");
    }
    Ok(())
}

/// Checks one entry's hash (unless redacted: then its bytes must be a
/// redaction) and its event against its bytes; returns the leaf hash it
/// carries.
fn check_leaf(entry: &BundleEntry) -> anyhow::Result<ledger::Hash> {
    let i = entry.index;
    let bytes = entry
        .leaf_bytes()
        .map_err(|_| anyhow::anyhow!("entry {i}: leaf is not valid base64"))?;
    let hash = hash_of_hex(&entry.leaf_hash)
        .ok_or_else(|| anyhow::anyhow!("entry {i}: leaf hash is not 64 lowercase hex digits"))?;
    if !entry.redacted && leaf_hash(&bytes) != hash {
        bail!("entry {i}: leaf hash does not match its bytes");
    }
    let leaf = EventLeaf::decode(&bytes)
        .map_err(|e| anyhow::anyhow!("entry {i}: leaf bytes do not decode: {e}"))?;
    if entry.redacted && !is_redaction(&leaf) {
        bail!("entry {i}: marked redacted but its bytes are not a redaction");
    }
    if leaf.to_json().ok().as_ref() != Some(&entry.event) {
        bail!("entry {i}: event does not match the decoding of its leaf bytes");
    }
    Ok(hash)
}

/// [`check_leaf`] of an export line, with the same checks in the same order
/// and the same messages: the leaf is decoded without copying its fields and
/// the event compared as it is parsed.
fn check_export_leaf(entry: &ExportLine<'_>, bytes: &mut Vec<u8>) -> anyhow::Result<ledger::Hash> {
    let i = entry.index;
    bytes.clear();
    STANDARD
        .decode_vec(entry.leaf.as_bytes(), bytes)
        .map_err(|_| anyhow::anyhow!("entry {i}: leaf is not valid base64"))?;
    let hash = hash_of_hex(&entry.leaf_hash)
        .ok_or_else(|| anyhow::anyhow!("entry {i}: leaf hash is not 64 lowercase hex digits"))?;
    if !entry.redacted && leaf_hash(bytes) != hash {
        bail!("entry {i}: leaf hash does not match its bytes");
    }
    let leaf = LeafView::decode(bytes)
        .map_err(|e| anyhow::anyhow!("entry {i}: leaf bytes do not decode: {e}"))?;
    if entry.redacted && !is_redaction(&leaf.to_owned()) {
        bail!("entry {i}: marked redacted but its bytes are not a redaction");
    }
    if !leaf.matches_event_json(entry.event.get()) {
        bail!("entry {i}: event does not match the decoding of its leaf bytes");
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests may unwrap")]

    use ledger::{ExportEntry, MemoryStore, Signer};

    use super::*;

    const NAME: &str = "custody.test/ledger";
    const N: u64 = 20;

    fn leaf(i: u64) -> Vec<u8> {
        EventLeaf {
            time_ms: 1_000 + i as i64,
            actor_user: None,
            actor_party: None,
            action: "file.download".into(),
            target: format!("file:{i}"),
            outcome: "allowed".into(),
            reason: None,
            source_addr: Some("192.0.2.1".into()),
            user_agent: None,
            request_id: None,
            mark_id: None,
            detail_json: format!(r#"{{"n":{i}}}"#),
        }
        .encode()
        .unwrap()
    }

    /// An honest export of `N` entries, its checkpoint signed with `seed`, and the key.
    fn export(seed: u8) -> (Vec<String>, String, String) {
        let signer = Signer::from_seed(NAME, [seed; 32]).unwrap();
        let mut tree = MemoryStore::new();
        let mut lines = Vec::new();
        for i in 0..N {
            let bytes = leaf(i);
            tree.push(leaf_hash(&bytes)).unwrap();
            lines.push(ExportEntry::new(i, &bytes).unwrap().to_line().unwrap());
        }
        let body = Checkpoint {
            origin: NAME.into(),
            size: N,
            root: ledger::root(&tree, N).unwrap(),
            extensions: vec![],
        }
        .to_note_body()
        .unwrap();
        let note = signer.sign(&body).unwrap();
        (lines, note, signer.verifier().to_key_text())
    }

    fn edit(lines: &mut [String], i: usize, f: impl FnOnce(&mut ExportEntry)) {
        let mut entry = ExportEntry::parse_line(&lines[i]).unwrap();
        f(&mut entry);
        lines[i] = entry.to_line().unwrap();
    }

    /// Changes one byte of the leaf (inside the detail's number); the claimed
    /// hash and event are recomputed only when `recompute` is set.
    fn flip_leaf_byte(entry: &mut ExportEntry, recompute: bool) {
        let mut bytes = entry.leaf_bytes().unwrap();
        let at = bytes.len() - 3;
        bytes[at] = b'9';
        let forged = ExportEntry::new(entry.index, &bytes).unwrap();
        entry.leaf = forged.leaf;
        if recompute {
            entry.leaf_hash = forged.leaf_hash;
            entry.event = forged.event;
        }
    }

    fn check(what: &str, lines: &[String], note: &str, key: &str, want: Result<u64, &str>) {
        let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let got = verify(key, note, text.as_bytes()).map_err(|e| format!("{e:#}"));
        match want {
            Ok(size) => assert_eq!(got, Ok(size), "{what}"),
            Err(prefix) => {
                let err = got.expect_err(what);
                assert!(err.starts_with(prefix), "{what}: {err}");
            }
        }
    }

    /// A reader of `text` in pieces of at most `piece` bytes that fails after
    /// `fail_at` bytes, if given.
    struct Pieces<'a> {
        text: &'a [u8],
        piece: usize,
        fail_at: Option<usize>,
        read: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.fail_at.is_some_and(|at| self.read >= at) {
                return Err(std::io::Error::other("disk on fire"));
            }
            let limit = self.fail_at.map_or(usize::MAX, |at| at - self.read);
            let n = self.text.len().min(buf.len()).min(self.piece).min(limit);
            buf[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            self.read += n;
            Ok(n)
        }
    }

    #[test]
    fn blocks_hand_out_whole_lines() {
        let text = "one\ntwo\r\na line longer than the buffer\n\nlast";
        // (buffer capacity, read piece, failing after, blocks, error)
        type Case<'a> = (usize, usize, Option<usize>, &'a [&'a str], Option<&'a str>);
        let cases: &[Case] = &[
            (1 << 20, 1 << 20, None, &[text], None),
            (
                8,
                3,
                None,
                &[
                    "one\n",
                    "two\r\n",
                    "a line longer than the buffer\n\n",
                    "last",
                ],
                None,
            ),
            (8, 8, Some(10), &["one\n", "two\r\n"], Some("disk on fire")),
            (64, 64, Some(2), &[], Some("disk on fire")),
        ];
        for &(capacity, piece, fail_at, want, error) in cases {
            let reader = Pieces {
                text: text.as_bytes(),
                piece,
                fail_at,
                read: 0,
            };
            let mut blocks = Blocks::new(reader, capacity);
            let mut got = Vec::new();
            let end = loop {
                match blocks.next_block() {
                    Ok([]) => break None,
                    Ok(block) => got.push(String::from_utf8(block.to_vec()).unwrap()),
                    Err(e) => break Some(e.to_string()),
                }
            };
            assert_eq!(got, want, "capacity {capacity}, piece {piece}");
            assert_eq!(end.as_deref(), error, "capacity {capacity}, piece {piece}");
        }
    }

    #[test]
    fn line_endings_and_bad_text_are_handled_as_by_lines() {
        let (honest, note, key) = export(1);
        let verify_text =
            |text: Vec<u8>| verify(&key, &note, text.as_slice()).map_err(|e| format!("{e:#}"));
        let joined = |sep: &str, last: &str| {
            let mut text = honest.join(sep);
            text.push_str(last);
            text.into_bytes()
        };
        assert_eq!(verify_text(joined("\r\n", "\r\n")), Ok(N), "crlf");
        assert_eq!(verify_text(joined("\n", "")), Ok(N), "no final newline");
        assert_eq!(
            verify_text(joined("\n", "\n\n")),
            Err("entry 20: not a valid export line".into()),
            "empty last line"
        );
        let mut bad = joined("\n", "\n");
        let at = honest[..3].iter().map(|l| l.len() + 1).sum::<usize>() + 20;
        bad[at] = 0xff;
        assert_eq!(
            verify_text(bad),
            Err("cannot read entry 3: stream did not contain valid UTF-8".into()),
            "invalid utf-8"
        );
    }

    #[test]
    fn tampered_exports_are_caught() {
        let (honest, note, key) = export(1);
        let (_, other_note, _) = export(2);
        type Tamper = Box<dyn Fn(&mut Vec<String>)>;
        let cases: Vec<(&str, Tamper, Result<u64, &str>)> = vec![
            ("honest", Box::new(|_| {}), Ok(N)),
            (
                "modified leaf byte",
                Box::new(|l| edit(l, 17, |e| flip_leaf_byte(e, false))),
                Err("entry 17: leaf hash does not match its bytes"),
            ),
            (
                "modified leaf byte, hash and event recomputed",
                Box::new(|l| edit(l, 17, |e| flip_leaf_byte(e, true))),
                Err("root mismatch"),
            ),
            (
                "modified decoded event",
                Box::new(|l| edit(l, 4, |e| e.event["target"] = "file:999".into())),
                Err("entry 4: event does not match the decoding of its leaf bytes"),
            ),
            (
                "deleted entry",
                Box::new(|l| {
                    l.remove(18);
                }),
                Err("entry 18 missing"),
            ),
            (
                "deleted last entry",
                Box::new(|l| {
                    l.pop();
                }),
                Err("entry 19 missing"),
            ),
            (
                "inserted entry",
                Box::new(|l| {
                    let copy = l[5].clone();
                    l.insert(6, copy);
                }),
                Err("entry 5 appears again after entry 5"),
            ),
            (
                "appended entry",
                Box::new(|l| l.push(ExportEntry::new(N, &leaf(N)).unwrap().to_line().unwrap())),
                Err("entry 20 is beyond the checkpoint of size 20"),
            ),
            (
                "swapped lines",
                Box::new(|l| l.swap(2, 3)),
                Err("entry 2 missing (entry 3 found in its place)"),
            ),
            (
                "swapped contents, indices kept",
                Box::new(|l| {
                    l.swap(2, 3);
                    edit(l, 2, |e| e.index = 2);
                    edit(l, 3, |e| e.index = 3);
                }),
                Err("root mismatch"),
            ),
            (
                "truncated file",
                Box::new(|l| {
                    let cut = l[9].len() / 2;
                    l[9].truncate(cut);
                    l.truncate(10);
                }),
                Err("entry 9: not a valid export line"),
            ),
        ];
        for (what, tamper, want) in cases {
            let mut lines = honest.clone();
            tamper(&mut lines);
            check(what, &lines, &note, &key, want);
        }
        let by_other_key = "checkpoint signature does not verify with key `custody.test/ledger+";
        check(
            "checkpoint by another key",
            &honest,
            &other_note,
            &key,
            Err(by_other_key),
        );
        let other_tree = Checkpoint {
            origin: NAME.into(),
            size: N,
            root: [9; 32],
            extensions: vec![],
        };
        let signer = Signer::from_seed(NAME, [1; 32]).unwrap();
        let other_root = signer.sign(&other_tree.to_note_body().unwrap()).unwrap();
        check(
            "checkpoint of another tree",
            &honest,
            &other_root,
            &key,
            Err("root mismatch"),
        );
        let forged = note.replace("\n20\n", "\n19\n");
        check(
            "edited checkpoint",
            &honest,
            &forged,
            &key,
            Err(by_other_key),
        );
        check(
            "bad key",
            &honest,
            &note,
            "nonsense",
            Err("the verifier key `nonsense` is not valid"),
        );
    }

    /// The leaf of event `i` with its personal data removed.
    fn redacted_leaf(i: u64) -> Vec<u8> {
        let mut l = EventLeaf::decode(&leaf(i)).unwrap();
        l.source_addr = None;
        l.user_agent = None;
        l.detail_json = app::ledger::REDACTED_DETAIL.into();
        l.encode().unwrap()
    }

    /// The entry that carries redacted bytes in [`bundle`].
    const REDACTED: u64 = 7;
    const PICKED: [u64; 6] = [0, 3, 5, REDACTED, 12, 19];

    fn b64_all(hashes: &[ledger::Hash]) -> Vec<String> {
        hashes.iter().map(|h| STANDARD.encode(h)).collect()
    }

    /// A bundle of the entries [`PICKED`] of the `N`-leaf tree, its checkpoint
    /// signed with `seed`; entry [`REDACTED`] was redacted after it was logged.
    fn bundle(seed: u8) -> Bundle {
        let signer = Signer::from_seed(NAME, [seed; 32]).unwrap();
        let mut tree = MemoryStore::new();
        for i in 0..N {
            tree.push(leaf_hash(&leaf(i))).unwrap();
        }
        let body = Checkpoint {
            origin: NAME.into(),
            size: N,
            root: ledger::root(&tree, N).unwrap(),
            extensions: vec![],
        };
        let entries = PICKED
            .iter()
            .map(|&i| {
                let bytes = if i == REDACTED {
                    redacted_leaf(i)
                } else {
                    leaf(i)
                };
                BundleEntry {
                    index: i,
                    leaf: STANDARD.encode(&bytes),
                    leaf_hash: ledger::leaf::hex(&leaf_hash(&leaf(i))),
                    redacted: i == REDACTED,
                    event: EventLeaf::decode(&bytes).unwrap().to_json().unwrap(),
                    proof: Some(b64_all(&ledger::inclusion_proof(&tree, i, N).unwrap())),
                }
            })
            .collect();
        Bundle {
            format: BUNDLE_FORMAT.into(),
            verifier_key: signer.verifier().to_key_text(),
            checkpoint: signer.sign(&body.to_note_body().unwrap()).unwrap(),
            entries,
        }
    }

    /// A checkpoint by the key of seed 1 over `size` leaves with `root`.
    fn note_of(size: u64, root: ledger::Hash) -> String {
        let signer = Signer::from_seed(NAME, [1; 32]).unwrap();
        let body = Checkpoint {
            origin: NAME.into(),
            size,
            root,
            extensions: vec![],
        };
        signer.sign(&body.to_note_body().unwrap()).unwrap()
    }

    /// The entry of `bundle` with index `index`.
    fn at(b: &mut Bundle, index: u64) -> &mut BundleEntry {
        b.entries.iter_mut().find(|e| e.index == index).unwrap()
    }

    /// Changes one byte of entry `index`'s leaf (inside the detail's number);
    /// its hash and event are recomputed only when `recompute` is set.
    fn forge_leaf(b: &mut Bundle, index: u64, recompute: bool) {
        let entry = at(b, index);
        let mut bytes = entry.leaf_bytes().unwrap();
        let end = bytes.len() - 2;
        bytes[end] = b'9';
        entry.leaf = STANDARD.encode(&bytes);
        if recompute {
            entry.leaf_hash = ledger::leaf::hex(&leaf_hash(&bytes));
            entry.event = EventLeaf::decode(&bytes).unwrap().to_json().unwrap();
        }
    }

    fn check_bundle(what: &str, b: &Bundle, want: Result<Summary, &str>) {
        let got = verify_bundle(b).map_err(|e| format!("{e:#}"));
        match want {
            Ok(summary) => assert_eq!(got.unwrap(), summary, "{what}"),
            Err(prefix) => {
                let err = got.expect_err(what);
                assert!(err.starts_with(prefix), "{what}: {err}");
            }
        }
    }

    #[test]
    fn tampered_bundles_are_caught_and_the_first_bad_item_named() {
        let mut small = MemoryStore::new();
        for i in 0..10 {
            small.push(leaf_hash(&leaf(i))).unwrap();
        }
        let small_root = ledger::root(&small, 10).unwrap();
        type Tamper = Box<dyn Fn(&mut Bundle)>;
        let cases: Vec<(&str, Tamper, Result<Summary, &str>)> = vec![
            (
                "honest",
                Box::new(|_| {}),
                Ok(Summary {
                    entries: 6,
                    redacted: 1,
                    size: N,
                }),
            ),
            (
                "modified leaf",
                Box::new(|b| forge_leaf(b, 5, false)),
                Err("entry 5: leaf hash does not match its bytes"),
            ),
            (
                "modified leaf, hash and event recomputed",
                Box::new(|b| forge_leaf(b, 5, true)),
                Err("entry 5: inclusion proof does not lead to the checkpoint root"),
            ),
            (
                "modified decoded event",
                Box::new(|b| at(b, 12).event["target"] = "file:999".into()),
                Err("entry 12: event does not match the decoding of its leaf bytes"),
            ),
            (
                "swapped proofs",
                Box::new(|b| {
                    let p3 = at(b, 3).proof.take();
                    let p5 = std::mem::replace(&mut at(b, 5).proof, p3);
                    at(b, 3).proof = p5;
                }),
                Err("entry 3: inclusion proof does not lead to the checkpoint root"),
            ),
            (
                "truncated proof",
                Box::new(|b| {
                    at(b, 12).proof.as_mut().unwrap().pop();
                }),
                Err("entry 12: inclusion proof has 4 hashes where a tree of size 20 needs 5"),
            ),
            (
                "missing proof",
                Box::new(|b| at(b, 12).proof = None),
                Err("entry 12: no inclusion proof"),
            ),
            (
                "moved to another index",
                Box::new(|b| at(b, 12).index = 13),
                Err("entry 13: inclusion proof does not lead to the checkpoint root"),
            ),
            (
                "entry beyond the checkpoint",
                Box::new(|b| at(b, 19).index = 20),
                Err("entry 20 is beyond the checkpoint of size 20"),
            ),
            (
                "redacted entry unmarked",
                Box::new(|b| at(b, REDACTED).redacted = false),
                Err("entry 7: leaf hash does not match its bytes"),
            ),
            (
                "entry marked redacted whose bytes are not a redaction",
                Box::new(|b| at(b, 0).redacted = true),
                Err("entry 0: marked redacted but its bytes are not a redaction"),
            ),
            (
                "redacted entry with another retained hash",
                Box::new(|b| at(b, REDACTED).leaf_hash = ledger::leaf::hex(&[5; 32])),
                Err("entry 7: inclusion proof does not lead to the checkpoint root"),
            ),
            (
                "checkpoint from another key",
                Box::new(|b| b.checkpoint = bundle(2).checkpoint),
                Err("checkpoint signature does not verify with key `custody.test/ledger+"),
            ),
            (
                "checkpoint of another tree",
                Box::new(|b| b.checkpoint = note_of(N, [9; 32])),
                Err("entry 0: inclusion proof does not lead to the checkpoint root"),
            ),
            (
                "checkpoint of a smaller tree",
                Box::new(move |b| b.checkpoint = note_of(10, small_root)),
                Err("entry 0: inclusion proof has 5 hashes where a tree of size 10 needs 4"),
            ),
        ];
        for (what, tamper, want) in cases {
            let mut b = bundle(1);
            tamper(&mut b);
            check_bundle(what, &b, want);
        }
    }

    #[test]
    fn a_bundle_of_another_format_is_refused() {
        let mut b = serde_json::to_value(bundle(1)).unwrap();
        b["format"] = "custody-evidence-bundle/2".into();
        let err = parse_bundle(&b.to_string()).map_err(|e| format!("{e:#}"));
        assert_eq!(
            err.err().as_deref(),
            Some(
                "not a custody evidence bundle (format `custody-evidence-bundle/2`, expected \
                 `custody-evidence-bundle/1`)"
            )
        );
        let text = serde_json::to_string(&bundle(1)).unwrap();
        assert_eq!(parse_bundle(&text).unwrap(), bundle(1));
    }

    /// The length of RFC 6962 `PATH(m, D[n])` (§2.1.1), by its recursion: the
    /// reference the proofs are held to.
    fn path_len(m: u64, n: u64) -> usize {
        if n <= 1 {
            return 0;
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m < k {
            1 + path_len(m, k)
        } else {
            1 + path_len(m - k, n - k)
        }
    }

    #[test]
    fn inclusion_proofs_have_the_rfc_path_length() {
        let mut tree = MemoryStore::new();
        for n in 1..=70u64 {
            tree.push(leaf_hash(&leaf(n))).unwrap();
            let ceil_log2 = (64 - (n - 1).leading_zeros()) as usize;
            for m in 0..n {
                let len = ledger::inclusion_proof(&tree, m, n).unwrap().len();
                assert_eq!(len, path_len(m, n), "leaf {m} of {n}");
                assert!(len <= ceil_log2, "leaf {m} of {n}: {len} > {ceil_log2}");
                if n.is_power_of_two() {
                    assert_eq!(len, n.trailing_zeros() as usize, "leaf {m} of {n}");
                }
            }
        }
        // Figures: the ragged right edge is shorter than the left of the tree.
        assert_eq!((path_len(0, 5), path_len(4, 5)), (3, 1));
        assert_eq!((path_len(0, 20), path_len(19, 20)), (5, 3));
        assert_eq!((path_len(0, 64), path_len(63, 64)), (6, 6));
        assert_eq!((path_len(0, 1 << 20), path_len(0, (1 << 20) + 1)), (20, 21));
    }

    #[test]
    fn export_filters_are_checked() {
        let got = |f: &[&str]| {
            filters(&f.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .map_err(|e| format!("{e:#}"))
        };
        assert_eq!(
            got(&["action=file.", "from=2025-01-01T00:00:00Z"]).unwrap(),
            vec![
                ("action".to_owned(), "file.".to_owned()),
                ("from".to_owned(), "2025-01-01T00:00:00Z".to_owned())
            ]
        );
        assert_eq!(
            got(&["room"]).err().as_deref(),
            Some("the filter `room` is not `NAME=VALUE`")
        );
        assert!(
            got(&["colour=red"])
                .unwrap_err()
                .starts_with("unknown filter `colour`")
        );
    }
}
