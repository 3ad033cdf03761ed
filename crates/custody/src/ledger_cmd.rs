//! `custody ledger verify`: checks a ledger export offline, without a server,
//! against a signed checkpoint and the verifier key. Every leaf hash is
//! recomputed from the leaf's exact bytes, every decoded event compared with
//! the decoding of those bytes, the indices checked to run 0..size, and the
//! Merkle root of all leaves compared with the checkpoint's.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use ledger::{Checkpoint, EventLeaf, ExportEntry, MemoryStore, Verifier, leaf_hash};

/// The ledger commands.
#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Verify an export of entries (JSON lines) against a signed checkpoint,
    /// offline; exit 0 only when everything verifies.
    Verify {
        /// The entries, as `GET /api/v1/ledger/entries` returns them (JSON lines).
        #[arg(long)]
        entries: PathBuf,
        /// The signed checkpoint, as `GET /api/v1/ledger/checkpoint` returns it.
        #[arg(long)]
        checkpoint: PathBuf,
        /// The verifier key, as `GET /api/v1/ledger/verifier-key` returns it.
        #[arg(long)]
        key: PathBuf,
    },
}

/// Runs a ledger command.
pub fn run(command: LedgerCommand) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Verify {
            entries,
            checkpoint,
            key,
        } => {
            let key = read(&key)?;
            let note = read(&checkpoint)?;
            let file = std::fs::File::open(&entries)
                .with_context(|| format!("cannot open `{}`", entries.display()))?;
            let size = verify(key.trim_end(), &note, std::io::BufReader::new(file))?;
            println!("ok: {size} entries verify against checkpoint of size {size}");
            Ok(())
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Verifies the export read from `entries`; returns the checkpoint size.
fn verify(key: &str, note: &str, entries: impl BufRead) -> anyhow::Result<u64> {
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
    let size = checkpoint.size;
    let mut tree = MemoryStore::new();
    for line in entries.lines() {
        let next = tree.size();
        let line = line.with_context(|| format!("cannot read entry {next}"))?;
        let entry = ExportEntry::parse_line(&line)
            .map_err(|_| anyhow::anyhow!("entry {next}: not a valid export line"))?;
        check_index(entry.index, next, size)?;
        let hash = check_entry(&entry)?;
        tree.push(hash).context("cannot build the tree")?;
    }
    if tree.size() < size {
        bail!("entry {} missing", tree.size());
    }
    let root = ledger::root(&tree, size).context("cannot compute the root")?;
    if root != checkpoint.root {
        bail!("root mismatch: the entries do not produce the checkpoint's root");
    }
    Ok(size)
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

/// Checks one entry's hash and event against its bytes; returns the leaf hash.
fn check_entry(entry: &ExportEntry) -> anyhow::Result<ledger::Hash> {
    let i = entry.index;
    let bytes = entry
        .leaf_bytes()
        .map_err(|_| anyhow::anyhow!("entry {i}: leaf is not valid base64"))?;
    let hash = leaf_hash(&bytes);
    if entry.claimed_hash().ok() != Some(hash) {
        bail!("entry {i}: leaf hash does not match its bytes");
    }
    let decoded = EventLeaf::decode(&bytes)
        .and_then(|leaf| leaf.to_json())
        .map_err(|e| anyhow::anyhow!("entry {i}: leaf bytes do not decode: {e}"))?;
    if decoded != entry.event {
        bail!("entry {i}: event does not match the decoding of its leaf bytes");
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests may unwrap")]

    use ledger::Signer;

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
}
