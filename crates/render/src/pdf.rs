//! PDF pages through poppler's `pdftoppm`, run as a subprocess.
//!
//! For a screen ([`render_for_screen`]) a document's page (A4, Letter,
//! Legal) is drawn at the reading resolution and, unless it is text, again at
//! the detail resolution; a larger sheet (a drawing) at the detail resolution.
//!
//! The document is first parsed in process (`mark::pdf::load`, under the input
//! limits) to refuse encrypted files, count the pages and read the page's
//! visible box (CropBox within MediaBox, both inherited, turned by `/Rotate`).
//! From that box the resolution is chosen: the configured one, or a lower one
//! if the page would have more than `max_page_pixels` pixels, down to
//! `min_dpi`, below which the page is refused. Then
//! `pdftoppm -r R -f N -l N -cropbox -x 0 -y 0 -W w -H h -` reads the PDF on
//! standard input and writes a binary PPM of the page on standard output. The
//! `-W`/`-H` crop makes poppler allocate at most `w × h` pixels whatever it
//! thinks of the page's size, the output read is capped at that size, the
//! process is killed after the timeout, and its standard error becomes the
//! message of the error. PPM rather than PNG: nothing to compress and
//! decompress between two processes on the same machine.

use std::io::ErrorKind;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use mark::image::{ImageFormat, Pixels};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::{PageKind, RenderError, RenderLimits, classify};

/// Most bytes of the renderer's standard error kept for the message.
const MAX_STDERR: u64 = 16 << 10;
/// Deepest page tree walked for inherited attributes.
const MAX_DEPTH: usize = 64;
/// The page box poppler assumes when a page has none (US Letter).
const DEFAULT_BOX: [f64; 4] = [0.0, 0.0, 612.0, 792.0];

fn malformed(e: impl std::fmt::Display) -> RenderError {
    RenderError::Malformed(e.to_string())
}

/// Pages of a PDF.
pub(crate) fn page_count(content: &[u8], limits: &RenderLimits) -> Result<u32, RenderError> {
    let doc = mark::pdf::load(content, &limits.input)?;
    Ok(u32::try_from(doc.get_pages().len()).unwrap_or(u32::MAX))
}

/// The size of one page as shown, in points.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PageSize {
    width: f64,
    height: f64,
}

/// The size of page `page` (1-based) as a viewer shows it.
fn page_size(content: &[u8], page: u32, limits: &RenderLimits) -> Result<PageSize, RenderError> {
    let doc = mark::pdf::load(content, &limits.input)?;
    let pages = doc.get_pages();
    let Some(&id) = pages.get(&page) else {
        let pages = u32::try_from(pages.len()).unwrap_or(u32::MAX);
        return Err(RenderError::NoSuchPage { page, pages });
    };
    shown_box(&doc, id, page)
}

/// The size in pixels of every page, first page first, as
/// [`render_for_screen`] first draws them (a document's page that is not
/// text comes at `detail` dpi, in the same proportions).
pub(crate) fn page_sizes(
    content: &[u8],
    (reading, detail): (u32, u32),
    limits: &RenderLimits,
) -> Result<Vec<(u64, u64)>, RenderError> {
    let doc = mark::pdf::load(content, &limits.input)?;
    doc.get_pages()
        .into_iter()
        .map(|(page, id)| {
            let size = shown_box(&doc, id, page)?;
            let p = plan(size, screen_dpi(size, reading, detail), limits)?;
            Ok((p.width, p.height))
        })
        .collect()
}

/// The visible box of page object `id` (page number `page`, for messages).
fn shown_box(
    doc: &mark::pdf::Document,
    id: mark::pdf::ObjectId,
    page: u32,
) -> Result<PageSize, RenderError> {
    let (mut media, mut crop, mut rotate) = (None, None, None);
    let mut node = Some(id);
    for _ in 0..MAX_DEPTH {
        let Some(current) = node else { break };
        let dict = doc.get_dictionary(current).map_err(malformed)?;
        let rect = |key: &[u8]| -> Option<[f64; 4]> {
            let items = dict.get_deref(key, doc).ok()?.as_array().ok()?;
            let mut r = [0.0; 4];
            if items.len() != 4 {
                return None;
            }
            for (slot, item) in r.iter_mut().zip(items) {
                let v = f64::from(doc.dereference(item).ok()?.1.as_float().ok()?);
                if !v.is_finite() {
                    return None;
                }
                *slot = v;
            }
            Some(r)
        };
        media = media.or_else(|| rect(b"MediaBox"));
        crop = crop.or_else(|| rect(b"CropBox"));
        rotate = rotate.or_else(|| {
            let r = dict.get_deref(b"Rotate", doc).ok()?.as_i64().ok()?;
            Some(r)
        });
        node = dict.get(b"Parent").and_then(|p| p.as_reference()).ok();
    }
    let media = normalize(media.unwrap_or(DEFAULT_BOX));
    let shown = crop.map_or(media, |c| intersect(normalize(c), media));
    let (w, h) = (shown[2] - shown[0], shown[3] - shown[1]);
    if !(w > 0.0 && h > 0.0) {
        return Err(malformed(format!("page {page} has an empty page box")));
    }
    Ok(if rotate.unwrap_or(0).rem_euclid(180) == 90 {
        PageSize {
            width: h,
            height: w,
        }
    } else {
        PageSize {
            width: w,
            height: h,
        }
    })
}

fn normalize([x0, y0, x1, y1]: [f64; 4]) -> [f64; 4] {
    [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]
}

/// The crop box within the media box; the media box if they do not overlap.
fn intersect(c: [f64; 4], m: [f64; 4]) -> [f64; 4] {
    let r = [
        c[0].max(m[0]),
        c[1].max(m[1]),
        c[2].min(m[2]),
        c[3].min(m[3]),
    ];
    if r[0] < r[2] && r[1] < r[3] { r } else { m }
}

/// How a page is rendered: the resolution and the pixel size it gives.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Plan {
    dpi: f64,
    width: u64,
    height: u64,
}

fn pixels_at(size: PageSize, dpi: f64) -> (u64, u64) {
    // As pdftoppm rounds: up, per side. `as` saturates on huge values.
    let side = |pt: f64| (pt * dpi / 72.0).ceil().max(1.0) as u64;
    (side(size.width), side(size.height))
}

/// The configured resolution, or the highest one at which the page fits the pixel cap.
fn plan(size: PageSize, dpi: u32, limits: &RenderLimits) -> Result<Plan, RenderError> {
    let max = limits.max_page_pixels;
    let mut dpi = f64::from(dpi);
    let (w, h) = pixels_at(size, dpi);
    let area = w.saturating_mul(h);
    if area > max {
        dpi *= (max as f64 / area as f64).sqrt();
    }
    // Rounding up each side can still overshoot by a little: step down.
    for _ in 0..16 {
        let (width, height) = pixels_at(size, dpi);
        if dpi < f64::from(limits.min_dpi) {
            let (w, h) = pixels_at(size, f64::from(limits.min_dpi));
            return Err(RenderError::TooLarge {
                what: "page size in pixels at the lowest resolution",
                limit: max,
                actual: w.saturating_mul(h),
            });
        }
        if width.saturating_mul(height) <= max {
            return Ok(Plan { dpi, width, height });
        }
        dpi *= 0.995;
    }
    Err(RenderError::TooLarge {
        what: "page size in pixels",
        limit: max,
        actual: area,
    })
}

/// Largest page, in points (short side, long side), read as a page of a
/// document (A4, US Letter and Legal, with some slack) rather than a drawing sheet.
const DOCUMENT_PT: (f64, f64) = (640.0, 1030.0);

fn is_document(size: PageSize) -> bool {
    let (short, long) = (size.width.min(size.height), size.width.max(size.height));
    short <= DOCUMENT_PT.0 && long <= DOCUMENT_PT.1
}

/// The resolution a page is first drawn at for a screen: documents' pages
/// at `reading`, larger sheets at `detail`.
fn screen_dpi(size: PageSize, reading: u32, detail: u32) -> u32 {
    if is_document(size) { reading } else { detail }
}

/// Renders page `page` of a PDF for a screen: a document's page at
/// `reading` dpi, drawn again at `detail` dpi when it is not text (so that a
/// drawing or picture can be zoomed into); a larger sheet at `detail` dpi,
/// and a drawing even when it is grey.
pub(crate) async fn render_for_screen(
    pdftoppm: &Path,
    content: &[u8],
    page: u32,
    (reading, detail): (u32, u32),
    limits: &RenderLimits,
) -> Result<(Pixels, PageKind), RenderError> {
    let size = page_size(content, page, limits)?;
    let first = plan(size, screen_dpi(size, reading, detail), limits)?;
    let pixels = parse_ppm(run(pdftoppm, content, page, first, limits).await?, first)?;
    let kind = classify(&pixels);
    if !is_document(size) {
        let kind = if kind == PageKind::Text {
            PageKind::Drawing
        } else {
            kind
        };
        return Ok((pixels, kind));
    }
    let detailed = plan(size, detail, limits)?;
    if kind == PageKind::Text || detailed.width <= first.width {
        return Ok((pixels, kind));
    }
    drop(pixels);
    let ppm = run(pdftoppm, content, page, detailed, limits).await?;
    Ok((parse_ppm(ppm, detailed)?, kind))
}

/// Renders page `page` (1-based) of a PDF at `dpi` (or lower, see [`plan`]).
pub(crate) async fn render_page(
    pdftoppm: &Path,
    content: &[u8],
    page: u32,
    dpi: u32,
    limits: &RenderLimits,
) -> Result<Pixels, RenderError> {
    let size = page_size(content, page, limits)?;
    let plan = plan(size, dpi, limits)?;
    let ppm = run(pdftoppm, content, page, plan, limits).await?;
    parse_ppm(ppm, plan)
}

/// Runs `tool -v` and checks that it answers as poppler's pdftoppm does
/// (exit status 0, its version on standard error); returns the version line.
pub(crate) async fn check_tool(tool: &Path, timeout: Duration) -> Result<String, RenderError> {
    let missing = |detail: String| RenderError::ToolMissing {
        tool: tool.display().to_string(),
        detail,
    };
    let run = Command::new(tool)
        .arg("-v")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(missing(e.to_string())),
        Err(_) => return Err(missing(format!("`-v` gave no answer within {timeout:?}"))),
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    match said.lines().find(|l| l.starts_with("pdftoppm version")) {
        Some(line) if out.status.success() => Ok(line.trim().to_owned()),
        _ => Err(missing(format!(
            "`-v` did not answer as poppler's pdftoppm does ({})",
            out.status
        ))),
    }
}

/// Runs pdftoppm on `content` and returns its standard output (a PPM).
async fn run(
    tool: &Path,
    content: &[u8],
    page: u32,
    plan: Plan,
    limits: &RenderLimits,
) -> Result<Vec<u8>, RenderError> {
    // One pixel of slack per side for rounding differences with poppler.
    let (w, h) = (plan.width + 1, plan.height + 1);
    let page = page.to_string();
    let mut child = Command::new(tool)
        .args(["-r", &format!("{:.4}", plan.dpi), "-f", &page, "-l", &page])
        .args(["-cropbox", "-x", "0", "-y", "0"])
        .args(["-W", &w.to_string(), "-H", &h.to_string(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            let detail = e.to_string();
            let tool = tool.display().to_string();
            if e.kind() == ErrorKind::NotFound {
                RenderError::ToolMissing { tool, detail }
            } else {
                RenderError::Failed(format!("cannot start `{tool}`: {detail}"))
            }
        })?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(RenderError::Failed(
            "the renderer's pipes are missing".into(),
        ));
    };
    let max_out = w.saturating_mul(h).saturating_mul(3).saturating_add(64);
    let feed = async move {
        // A renderer that stops reading (it failed) closes the pipe: its exit
        // status says why, so a write error is not an error of its own.
        let _ = stdin.write_all(content).await;
    };
    let read_out = async move {
        let mut buf = Vec::with_capacity(usize::try_from(max_out).unwrap_or(0).min(64 << 20));
        // Dropping stdout when the cap is reached closes the pipe, which ends the renderer.
        let r = stdout.take(max_out + 1).read_to_end(&mut buf).await;
        r.map(|_| buf)
    };
    let read_err = async move {
        let mut buf = Vec::new();
        let _ = stderr.take(MAX_STDERR).read_to_end(&mut buf).await;
        buf
    };
    let work = async {
        let ((), out, err) = tokio::join!(feed, read_out, read_err);
        (out, err, child.wait().await)
    };
    let Ok((out, err, status)) = tokio::time::timeout(limits.timeout, work).await else {
        let _ = child.kill().await;
        return Err(RenderError::Timeout(limits.timeout));
    };
    let out = out.map_err(|e| RenderError::Failed(format!("reading the rendered page: {e}")))?;
    let len = out.len() as u64;
    if len > max_out {
        return Err(RenderError::TooLarge {
            what: "rendered page size in bytes",
            limit: max_out,
            actual: len,
        });
    }
    let status =
        status.map_err(|e| RenderError::Failed(format!("waiting for the renderer: {e}")))?;
    if status.success() {
        return Ok(out);
    }
    Err(failure(&String::from_utf8_lossy(&err), status))
}

/// The error for a renderer that failed, from its standard error.
fn failure(stderr: &str, status: std::process::ExitStatus) -> RenderError {
    if stderr.contains("Incorrect password") {
        return RenderError::Encrypted;
    }
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    let what = match status.code() {
        Some(code) => format!("the pdf renderer exited with status {code}"),
        None => "the pdf renderer was stopped by a signal".to_string(),
    };
    if lines.is_empty() {
        RenderError::Malformed(what)
    } else {
        RenderError::Malformed(format!("{what}: {}", lines.join("; ")))
    }
}

/// Reads a binary PPM (`P6 width height 255` then RGB bytes) no larger than
/// the plan, keeping its buffer for the pixels.
fn parse_ppm(mut ppm: Vec<u8>, plan: Plan) -> Result<Pixels, RenderError> {
    let bad = |what: &str| malformed(format!("the pdf renderer wrote {what}"));
    let mut fields = [0usize; 3];
    let mut rest = ppm
        .as_slice()
        .strip_prefix(b"P6")
        .ok_or_else(|| bad("no ppm image"))?;
    for field in &mut fields {
        let start = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .ok_or_else(|| bad("a truncated ppm header"))?;
        rest = rest.get(start..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .ok_or_else(|| bad("a truncated ppm header"))?;
        let digits = std::str::from_utf8(rest.get(..end).unwrap_or_default()).unwrap_or("");
        *field = digits.parse().map_err(|_| bad("a bad ppm header"))?;
        rest = rest.get(end..).unwrap_or_default();
    }
    let [width, height, maxval] = fields;
    if maxval != 255 {
        return Err(bad("a ppm image that is not 8-bit"));
    }
    if width as u64 > plan.width + 1 || height as u64 > plan.height + 1 {
        return Err(bad("a page larger than planned"));
    }
    // Exactly one whitespace byte separates the header from the pixels.
    let header = ppm.len() - rest.len() + 1;
    let len = width * height * 3;
    if ppm.len() < header + len {
        return Err(bad("a truncated ppm image"));
    }
    ppm.drain(..header);
    ppm.truncate(len);
    Ok(Pixels {
        width,
        height,
        channels: 3,
        data: ppm,
        format: ImageFormat::Png,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_scale_huge_pages_down_and_refuse_absurd_ones() {
        fn check(w: f64, h: f64, dpi: u32, want: Result<(u64, u64), &str>) {
            let limits = RenderLimits::default();
            let got = plan(
                PageSize {
                    width: w,
                    height: h,
                },
                dpi,
                &limits,
            );
            match (got, want) {
                (Ok(p), Ok(size)) => {
                    assert_eq!((p.width, p.height), size, "{w}×{h} at {dpi}");
                    assert!(p.width * p.height <= limits.max_page_pixels);
                }
                (Err(e), Err(code)) => assert_eq!(e.code(), code, "{w}×{h}"),
                (got, want) => panic!("{w}×{h} at {dpi}: {got:?}, want {want:?}"),
            }
        }
        check(595.0, 842.0, 150, Ok((1240, 1755)));
        check(612.0, 792.0, 150, Ok((1275, 1650)));
        check(14400.0, 14400.0, 150, Ok((4096, 4096)));
        check(1e7, 1e7, 150, Err("render_too_large"));
        check(1e300, 1.0, 150, Err("render_too_large"));
    }

    #[test]
    fn ppm_headers_are_checked() {
        let plan = Plan {
            dpi: 72.0,
            width: 2,
            height: 1,
        };
        fn check(ppm: &[u8], plan: Plan, want: Result<(usize, usize), ()>) {
            let got = parse_ppm(ppm.to_vec(), plan).map(|p| (p.width, p.height));
            assert_eq!(
                got.map_err(|_| ()),
                want,
                "{:?}",
                String::from_utf8_lossy(ppm)
            );
        }
        check(b"P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06", plan, Ok((2, 1)));
        check(b"P6\n2 1\n255\n\x01\x02", plan, Err(()));
        check(b"P6\n2 1\n65535\n\x01\x02\x03\x04\x05\x06", plan, Err(()));
        check(b"P6\n9 9\n255\n", plan, Err(()));
        check(b"P5\n2 1\n255\n\x01\x02", plan, Err(()));
        check(b"P6\n2", plan, Err(()));
        check(b"", plan, Err(()));
    }
}
