//! Loading untrusted PDFs with lopdf: object streams checked before lopdf expands them. lopdf parses each object
//! of an object stream from its offset to wherever that object ends, so
//! offsets that repeat, go backwards or point into another object let a
//! kilobyte file expand to gigabytes of objects (found by probing the fuzz
//! targets with crafted files; docs/FUZZING.md). The load filter sees every
//! object stream before it is expanded: its offsets must increase, each
//! object must end before the next one begins, and the object streams of one
//! document together may decompress to at most [`RATIO`] times the file's
//! size plus [`FLOOR`] (an object takes about 60 times its text in memory).
//! A stream failing a check is dropped and fails the load. A document whose
//! page tree is not found is loaded a second time, rebuilding its
//! cross-reference table, as lopdf does by itself only without a filter.
//!
//! lopdf calls the filter as a plain `fn` on the loading thread (its `rayon`
//! feature is off), so the state of the current load lives in a thread-local,
//! set by [`load`] and taken back when the load returns.
//!
//! Used by `dlp` (text extraction) and `mark` (stamping, tracing): both load
//! untrusted PDFs through [`load`].

use std::cell::Cell;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream, dictionary};

/// Object streams may decompress to this many times the file's size…
const RATIO: u64 = 16;
/// …plus this many bytes.
const FLOOR: u64 = 1 << 20;

/// Why a load was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// An object stream whose objects overlap or are out of order.
    Overlap(u32),
    /// Object streams decompressing to more than `limit` bytes (`actual` at least).
    Budget {
        /// The limit for this file.
        limit: u64,
        /// What they decompressed to before the check stopped.
        actual: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct State {
    left: u64,
    limit: u64,
    max_stream: usize,
    refused: Option<Refused>,
}

thread_local! {
    static LOAD: Cell<Option<State>> = const { Cell::new(None) };
}

/// Loads `bytes`, each stream decompressing to at most `max_stream` bytes,
/// with object streams checked; `Ok(Err(_))` when a check refused the file.
pub fn load(bytes: &[u8], max_stream: usize) -> Result<Result<Document, Refused>, lopdf::Error> {
    let limit = (bytes.len() as u64)
        .saturating_mul(RATIO)
        .saturating_add(FLOOR);
    LOAD.set(Some(State {
        left: limit,
        limit,
        max_stream,
        refused: None,
    }));
    let options = |force_reconstruct| LoadOptions {
        filter: Some(filter),
        force_reconstruct,
        ..LoadOptions::with_max_decompressed_size(max_stream)
    };
    let mut result = Document::load_mem_with_options(bytes, options(false));
    // A filtered load does not rebuild a page tree it could not find, as an
    // unfiltered one does; rebuilding the cross-reference table by scanning
    // the file finds it, through the same filter.
    let refused = LOAD.get().and_then(|s| s.refused);
    if refused.is_none()
        && result
            .as_ref()
            .is_ok_and(|d| d.page_iter().next().is_none())
    {
        if let Some(mut state) = LOAD.get() {
            state.left = limit;
            LOAD.set(Some(state));
        }
        if let Ok(doc) = Document::load_mem_with_options(bytes, options(true)) {
            result = Ok(doc);
        }
    }
    let refused = LOAD.take().and_then(|s| s.refused);
    match (refused, result) {
        (Some(r), _) => Ok(Err(r)),
        (None, Ok(doc)) => Ok(Ok(doc)),
        (None, Err(e)) => Err(e),
    }
}

/// The load filter. lopdf keeps a top-level object as parsed and ignores the
/// copy returned for it, but stores the copy returned for a member of an
/// object stream; streams are never members, so only non-streams are copied.
fn filter(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    let Object::Stream(stream) = object else {
        return Some((id, object.clone()));
    };
    if !stream.dict.has_type(b"ObjStm") {
        return Some((id, Object::Null));
    }
    let mut state = LOAD.get()?;
    if state.refused.is_none()
        && let Err(r) = check(stream, id.0, &mut state)
    {
        state.refused = Some(r);
    }
    LOAD.set(Some(state));
    state.refused.is_none().then_some((id, Object::Null))
}

/// Checks one object stream and charges its size to the budget.
fn check(stream: &Stream, number: u32, state: &mut State) -> Result<(), Refused> {
    // What does not decompress, lopdf skips (or refuses) by itself.
    let Ok(content) = stream.get_plain_content_with_limit(state.max_stream) else {
        return Ok(());
    };
    let size = content.len() as u64;
    if size > state.left {
        return Err(Refused::Budget {
            limit: state.limit,
            actual: state.limit - state.left + size,
        });
    }
    state.left -= size;
    let first = stream
        .dict
        .get(b"First")
        .and_then(Object::as_i64)
        .ok()
        .and_then(|f| usize::try_from(f).ok());
    let Some(index) = first.and_then(|f| content.get(..f)) else {
        return Ok(());
    };
    let first = index.len();
    let offsets = member_offsets(index)
        .into_iter()
        .map(|o| first.saturating_add(o))
        .filter(|o| *o < content.len());
    let mut starts: Vec<usize> = offsets.collect();
    if starts.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err(Refused::Overlap(number));
    }
    starts.push(content.len());
    for span in starts.windows(2) {
        let [from, to] = span else { continue };
        if !one_object(content.get(*from..*to).unwrap_or_default()) {
            return Err(Refused::Overlap(number));
        }
    }
    Ok(())
}

/// The offsets of the members lopdf will parse: pairs of numbers in the index
/// (comments and all white space between them), a pair with anything else
/// skipped, as lopdf does.
fn member_offsets(index: &[u8]) -> Vec<usize> {
    let text = String::from_utf8_lossy(index);
    let numbers: Vec<Option<u32>> = text
        .split(['\r', '\n'])
        .flat_map(|line| {
            line.split('%')
                .next()
                .unwrap_or_default()
                .split_whitespace()
        })
        .map(|n| n.parse().ok())
        .collect();
    numbers
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [Some(_), Some(offset)] => usize::try_from(*offset).ok(),
            _ => None,
        })
        .collect()
}

/// Whether `span` holds one whole object (parsed on its own, so that it
/// cannot run into the spans after it).
fn one_object(span: &[u8]) -> bool {
    let header = b"0 0 ";
    let dict: Dictionary = dictionary! {
        "Type" => "ObjStm",
        "N" => 1,
        "First" => i64::try_from(header.len()).unwrap_or(0),
    };
    let alone = Stream::new(dict, [header.as_slice(), span].concat());
    lopdf::ObjectStream::new_with_limit(&alone, Some(alone.content.len()))
        .is_ok_and(|s| s.objects.len() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF of one page and one object stream holding `index` then `objects`.
    fn pdf(index: &str, objects: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.5\n".to_vec();
        let mut offsets = Vec::new();
        let n = index.split_whitespace().count() / 2;
        let content = format!("{index}{objects}");
        let bodies = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>".to_owned(),
            format!(
                "<< /Type /ObjStm /N {n} /First {} /Length {} >>\nstream\n{content}\nendstream",
                index.len(),
                content.len()
            ),
        ];
        for (i, body) in bodies.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", bodies.len() + 1).bytes());
        for o in offsets {
            out.extend(format!("{o:010} 00000 n \n").bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                bodies.len() + 1
            )
            .bytes(),
        );
        out
    }

    #[test]
    fn object_streams_are_checked_before_expansion() {
        // (index, objects, expected)
        let check = |index: &str, objects: &str, expected: Result<usize, Refused>| {
            let got = load(&pdf(index, objects), 1 << 20)
                .unwrap()
                .map(|d| d.objects.len());
            assert_eq!(got, expected, "{index}{objects}");
        };
        check("10 0 11 6 ", "[1 2] (two)", Ok(6));
        check("10 0 11 0 ", "[0 0 0 0]", Err(Refused::Overlap(4)));
        check("10 6 11 0 ", "[1 2] (two)", Err(Refused::Overlap(4)));
        check("10 0 11 1 ", "[[0 0] 1]", Err(Refused::Overlap(4)));
        assert_eq!(LOAD.get().map(|s| s.left), None);
    }
}
