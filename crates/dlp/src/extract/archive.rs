//! ZIP, GZIP and TAR: each member is read within the budget of the
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
