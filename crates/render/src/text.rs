//! Text and source code as pages: [`LINES_PER_PAGE`] lines a page, tabs
//! expanded, control characters dropped, long lines clipped at the page's
//! edge, drawn in dark grey on a white A4 canvas with the embedded font of the
//! mark crate, and a footer naming the file and the page.

use mark::image::{ImageFormat, Pixels, draw_text_line};

use crate::{LINES_PER_PAGE, RenderError};

/// Columns between tab stops.
const TAB_WIDTH: usize = 4;
/// Most characters of a line that are drawn (the rest would be off the page anyway).
const MAX_COLUMNS: usize = 400;
const INK: [u8; 3] = [51, 51, 51];
const FOOTER_INK: [u8; 3] = [140, 140, 140];

/// Pages of `text`: one per [`LINES_PER_PAGE`] lines, at least one.
pub(crate) fn page_count(text: &str) -> u32 {
    let pages = text.lines().count().div_ceil(LINES_PER_PAGE).max(1);
    u32::try_from(pages).unwrap_or(u32::MAX)
}

/// The size of an A4 page at `dpi`, in pixels.
pub(crate) fn page_pixels(dpi: u32) -> (usize, usize) {
    let dpi = dpi as f32;
    (
        (210.0 / 25.4 * dpi).round() as usize,
        (297.0 / 25.4 * dpi).round() as usize,
    )
}

/// Draws page `page` (1-based) of `text` on an A4 canvas at `dpi`.
pub(crate) fn render_page(
    text: &str,
    file_name: &str,
    page: u32,
    dpi: u32,
) -> Result<Pixels, RenderError> {
    let pages = page_count(text);
    if page == 0 || page > pages {
        return Err(RenderError::NoSuchPage { page, pages });
    }
    let (width, height) = page_pixels(dpi);
    let dpi = dpi as f32;
    let mut p = Pixels {
        width,
        height,
        channels: 3,
        data: vec![255; width * height * 3],
        format: ImageFormat::Png,
    };
    // Margins of 2/3 inch left and right, 1 inch top and bottom.
    let (left, top) = ((dpi * 2.0 / 3.0) as u32, dpi as u32);
    let line_h = (height as f32 - 2.0 * dpi) / LINES_PER_PAGE as f32;
    let px = line_h * 0.8;
    let first = (page as usize - 1) * LINES_PER_PAGE;
    for (i, line) in text.lines().skip(first).take(LINES_PER_PAGE).enumerate() {
        let y = top + (i as f32 * line_h) as u32;
        draw_text_line(&mut p, left, y, px, &expand(line), INK)?;
    }
    let footer = format!("{} · page {page} of {pages}", expand(file_name));
    let y = (height as f32 - dpi * 0.6) as u32;
    draw_text_line(&mut p, left, y, px * 0.85, &footer, FOOTER_INK)?;
    Ok(p)
}

/// The line as drawn: tabs to the next stop, no control characters, at most
/// [`MAX_COLUMNS`] characters.
fn expand(line: &str) -> String {
    let mut out = String::with_capacity(line.len().min(MAX_COLUMNS));
    let mut col = 0;
    for c in line.chars() {
        if col >= MAX_COLUMNS {
            break;
        }
        if c == '\t' {
            let next = (col / TAB_WIDTH + 1) * TAB_WIDTH;
            out.extend(std::iter::repeat_n(' ', next - col));
            col = next;
        } else if !c.is_control() {
            out.push(c);
            col += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_expansion() {
        fn pages(lines: usize, want: u32) {
            let text = "x\n".repeat(lines);
            assert_eq!(page_count(&text), want, "{lines} lines");
        }
        pages(0, 1);
        pages(1, 1);
        pages(60, 1);
        pages(61, 2);
        pages(130, 3);

        fn check(line: &str, want: &str) {
            assert_eq!(expand(line), want, "{line:?}");
        }
        check("a\tb", "a   b");
        check("\tx", "    x");
        check("abcd\te", "abcd    e");
        check("a\u{7}b\r", "ab");
        check(&"y".repeat(1000), &"y".repeat(MAX_COLUMNS));
    }
}
