//! PDF text through `lopdf`: each page's content streams are decompressed
//! within the remaining byte budget and their text-showing operators decoded;
//! one item per page, at `file.pdf#page=N`. Pages given as images (scans) have
//! no text to find: OCR is out of scope. A parser panic on hostile input is
//! caught and reported as a corrupt document rather than taking the scan down.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{Extractor, ProblemKind};

/// Extracts the text of each page.
pub(super) fn pdf(x: &mut Extractor<'_>, path: &str, bytes: &[u8]) {
    let outcome = catch_unwind(AssertUnwindSafe(|| pages(x, path, bytes)));
    if outcome.is_err() {
        x.problem(
            path.to_owned(),
            ProblemKind::Corrupt,
            "the pdf parser failed on this document".to_owned(),
        );
    }
}

fn pages(x: &mut Extractor<'_>, path: &str, bytes: &[u8]) {
    let doc = match lopdf::Document::load_mem(bytes) {
        Ok(d) => d,
        Err(e) => {
            let message = e.to_string();
            let kind = if message.to_ascii_lowercase().contains("decrypt")
                || message.contains("password")
            {
                ProblemKind::Encrypted
            } else {
                ProblemKind::Corrupt
            };
            x.problem(
                path.to_owned(),
                kind,
                format!("cannot read the pdf: {message}"),
            );
            return;
        }
    };
    for number in doc.get_pages().into_keys() {
        let ppath = format!("{path}#page={number}");
        let (budget, _) = x.member_budget(bytes.len() as u64);
        let budget = usize::try_from(budget).unwrap_or(usize::MAX);
        match doc.extract_text_with_limit(&[number], budget) {
            Ok(text) => {
                if !x.account(&ppath, text.len() as u64) {
                    return;
                }
                x.item(ppath, text);
            }
            Err(e) => x.problem(
                ppath,
                ProblemKind::Corrupt,
                format!("cannot extract page text: {e}"),
            ),
        }
    }
}
