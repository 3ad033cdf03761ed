//! ZIP, GZIP, XZ, Zstandard, 7z and TAR: each member is read within the budget of the
//! [`Extractor`] (expansion ratio, total bytes, entry count) and visited one
//! level deeper. A ZIP that is an Office Open XML or OpenDocument file is
//! handed to [`super::office`].

use std::io::Cursor;

use super::{Extractor, ProblemKind, member_path, office};

/// Expands a ZIP archive (or an Office document, which is one).
pub(super) fn zip(x: &mut Extractor<'_>, path: &str, bytes: &[u8], depth: u32) {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            x.problem(
                path.to_owned(),
                ProblemKind::Corrupt,
                format!("not a readable zip archive: {e}"),
            );
            return;
        }
    };
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let office = office::is_office(&names);
    for index in 0..archive.len() {
        let (name, compressed, encrypted, skip) = match archive.by_index_raw(index) {
            Ok(f) => (
                f.name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|_| format!("member-{index}")),
                // The declared size is the archive's to claim: a member cannot
                // hold more compressed bytes than the whole archive, and the
                // expansion ratio is measured against what it can hold.
                f.compressed_size().min(bytes.len() as u64),
                f.encrypted(),
                f.is_dir() || f.is_symlink(),
            ),
            Err(e) => {
                x.problem(
                    path.to_owned(),
                    ProblemKind::Corrupt,
                    format!("member {index}: {e}"),
                );
                continue;
            }
        };
        if skip || (office && office::is_boilerplate(&name)) {
            continue;
        }
        let mpath = member_path(path, &name);
        if encrypted {
            x.problem(
                mpath,
                ProblemKind::Encrypted,
                "member is encrypted".to_owned(),
            );
            continue;
        }
        let data = match archive.by_index(index) {
            Ok(f) => x.read_bounded(&mpath, compressed, f),
            Err(e) => {
                x.problem(
                    mpath,
                    ProblemKind::Corrupt,
                    format!("cannot open member: {e}"),
                );
                continue;
            }
        };
        let Some(data) = data else { continue };
        if !x.account(&mpath, data.len() as u64) {
            return;
        }
        if office && office::is_xml_part(&name) {
            let text = office::xml_text(&data);
            x.item(mpath, text);
        } else {
            x.visit(mpath, &data, depth + 1);
        }
    }
}

/// Expands a GZIP stream (the member is named by the header, else by the
/// outer name without `.gz`).
pub(super) fn gzip(x: &mut Extractor<'_>, path: &str, bytes: &[u8], depth: u32) {
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    let inner = decoder
        .header()
        .and_then(|h| h.filename())
        .map(|f| String::from_utf8_lossy(f).into_owned());
    let name = inner.unwrap_or_else(|| {
        let base = path.rsplit(['/', '!']).next().unwrap_or(path);
        let base = base.strip_suffix(".tgz").map(|b| format!("{b}.tar"));
        base.unwrap_or_else(|| {
            let last = path.rsplit(['/', '!']).next().unwrap_or(path);
            last.strip_suffix(".gz").unwrap_or(last).to_owned()
        })
    });
    let mpath = member_path(path, &name);
    let Some(data) = x.read_bounded(&mpath, bytes.len() as u64, decoder) else {
        return;
    };
    if x.account(&mpath, data.len() as u64) {
        x.visit(mpath, &data, depth + 1);
    }
}

/// The memory a decoder may take for its dictionary or window (64 MiB): an
/// archive asking for more is reported as corrupt, not decoded.
const DECODER_MEMORY_KB: u32 = 64 << 10;

/// The name of the one member of a compressed stream at `path`: the outer
/// name less its suffix (`.xz`, `.zst`), and `.txz`/`.tzst` as `.tar`.
fn stream_member(path: &str, suffixes: &[&str], tar_suffixes: &[&str]) -> String {
    let base = path.rsplit(['/', '!']).next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    for s in tar_suffixes {
        if lower.ends_with(s) {
            return format!("{}.tar", base.get(..base.len() - s.len()).unwrap_or(base));
        }
    }
    for s in suffixes {
        if lower.ends_with(s) {
            return base.get(..base.len() - s.len()).unwrap_or(base).to_owned();
        }
    }
    format!("{base}.out")
}

/// Reads the one member of a compressed stream through `reader`, within the
/// budget, and visits it.
fn single(
    x: &mut Extractor<'_>,
    mpath: String,
    compressed: usize,
    reader: impl std::io::Read,
    depth: u32,
) {
    let Some(data) = x.read_bounded(&mpath, compressed as u64, reader) else {
        return;
    };
    if x.account(&mpath, data.len() as u64) {
        x.visit(mpath, &data, depth + 1);
    }
}

/// Expands an XZ stream (pure-Rust LZMA2 decoder, dictionary bounded).
pub(super) fn xz(x: &mut Extractor<'_>, path: &str, bytes: &[u8], depth: u32) {
    let mpath = member_path(path, &stream_member(path, &[".xz"], &[".txz"]));
    let reader = lzma_rust2::XzReader::new_mem_limit(bytes, true, DECODER_MEMORY_KB);
    single(x, mpath, bytes.len(), reader, depth);
}

/// Expands a Zstandard frame (pure-Rust decoder, window bounded).
pub(super) fn zstd(x: &mut Extractor<'_>, path: &str, bytes: &[u8], depth: u32) {
    let mpath = member_path(path, &stream_member(path, &[".zst", ".zstd"], &[".tzst"]));
    match ruzstd::decoding::StreamingDecoder::new_with_max_window_size(
        bytes,
        u64::from(DECODER_MEMORY_KB) << 10,
    ) {
        Ok(reader) => single(x, mpath, bytes.len(), reader, depth),
        Err(e) => x.problem(
            path.to_owned(),
            ProblemKind::Corrupt,
            format!("not a readable zstd frame: {e}"),
        ),
    }
}

/// Expands a 7z archive (LZMA, LZMA2, BCJ and delta filters; one thread,
/// dictionaries bounded). Each member is read within the budget measured
/// against the whole archive's size (members of a solid block share their
/// compressed bytes); a member over budget stops its block undecoded.
pub(super) fn seven_zip(x: &mut Extractor<'_>, path: &str, bytes: &[u8], depth: u32) {
    use sevenz_rust2::{ArchiveReader, EntryDecision, Password};
    let opened = ArchiveReader::new_with_memory_limit(
        Cursor::new(bytes),
        Password::empty(),
        DECODER_MEMORY_KB as usize,
    );
    let mut reader = match opened {
        Ok(r) => r,
        Err(e) => {
            seven_zip_problem(x, path, &e);
            return;
        }
    };
    reader.set_thread_count(1);
    let mut stopped = false;
    let walked = reader.for_each_entries_with_decision(|entry, data| {
        if entry.is_directory || !entry.has_stream {
            return Ok(EntryDecision::Continue);
        }
        let mpath = member_path(path, entry.name());
        let Some(data) = x.read_bounded(&mpath, bytes.len() as u64, data) else {
            return Ok(EntryDecision::SkipBlock);
        };
        if !x.account(&mpath, data.len() as u64) {
            stopped = true;
            return Ok(EntryDecision::Stop);
        }
        x.visit(mpath, &data, depth + 1);
        Ok(EntryDecision::Continue)
    });
    if let (Err(e), false) = (walked, stopped) {
        seven_zip_problem(x, path, &e);
    }
}

/// Reports a 7z archive that cannot be read: encrypted, or malformed.
fn seven_zip_problem(x: &mut Extractor<'_>, path: &str, e: &sevenz_rust2::Error) {
    use sevenz_rust2::Error;
    let encrypted = matches!(e, Error::PasswordRequired | Error::MaybeBadPassword(_))
        || matches!(e, Error::UnsupportedCompressionMethod(m) if m.to_ascii_lowercase().contains("aes"));
    if encrypted {
        x.problem(
            path.to_owned(),
            ProblemKind::Encrypted,
            "7z archive is encrypted".to_owned(),
        );
    } else {
        x.problem(
            path.to_owned(),
            ProblemKind::Corrupt,
            format!("not a readable 7z archive: {e}"),
        );
    }
}

/// Expands a TAR archive (regular files only).
pub(super) fn tar(x: &mut Extractor<'_>, path: &str, bytes: &[u8], depth: u32) {
    let mut archive = tar::Archive::new(bytes);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            x.problem(
                path.to_owned(),
                ProblemKind::Corrupt,
                format!("not a readable tar archive: {e}"),
            );
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                x.problem(
                    path.to_owned(),
                    ProblemKind::Corrupt,
                    format!("bad tar entry: {e}"),
                );
                return;
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "member".to_owned());
        let mpath = member_path(path, &name);
        let size = entry.size();
        let Some(data) = x.read_bounded(&mpath, size, entry) else {
            continue;
        };
        if !x.account(&mpath, data.len() as u64) {
            return;
        }
        x.visit(mpath, &data, depth + 1);
    }
}
