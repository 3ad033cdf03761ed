//! Measures the viewer's pages for `bench/viewer.sh` (run in release): every
//! page of a PDF drawn for a screen as the viewer draws it for a view
//! (`Renderer::render_screen_page` at 120/150 dpi, the visible stamp and
//! forensic mark, `render::for_screen`), each page `RUNS` times.
//!
//! `viewer_bench PDF RUNS OUT_DIR` prints one line per page,
//! `page=N kind=K size=WxH bytes=B ms=T` (T the median of the runs, in ms),
//! then `traced=true|false`: whether the mark of page 1 reads back from the
//! page as sent and from it scaled to a 990-px column (a screenshot). Page 1
//! is written to OUT_DIR for a look. `bench/viewer_before.rs` measures the
//! same way the pipeline as it was before (150 dpi, PNG).

use std::path::PathBuf;
use std::time::Instant;

use mark::{Issue, MarkId, MarkKey, Recipient, Style};
use render::{DEFAULT_DPI, RenderLimits, Renderer, for_screen, mark_page};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pdf, runs, out] = args.as_slice() else {
        return Err("usage: viewer_bench PDF RUNS OUT_DIR".into());
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(
        &std::fs::read(pdf)?,
        runs.parse()?,
        &PathBuf::from(out),
    ))
}

fn issue() -> Res<Issue> {
    Ok(Issue {
        recipient: Recipient {
            name: "Zoë Ångström".into(),
            email: "zoe@vendor.example".into(),
            party: "Vendor GmbH".into(),
        },
        issued_at: mark::OffsetDateTime::from_unix_timestamp(1_795_000_000)?,
        mark_id: MarkId(0x0123_4567_89ab_cdef),
    })
}

async fn run(pdf: &[u8], runs: usize, out: &std::path::Path) -> Res<()> {
    let r = Renderer::new(DEFAULT_DPI, RenderLimits::default(), "pdftoppm");
    let (issue, style, key) = (issue()?, Style::default(), MarkKey::derive(b"bench key"));
    let pages = r.page_sizes(pdf)?.len();
    let mut first = None;
    for page in 1..=u32::try_from(pages)? {
        let mut ms = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            let (mut p, kind) = r.render_screen_page(pdf, "bench.pdf", page).await?;
            mark_page(&mut p, &issue, &style, &key)?;
            let shown = for_screen(&p, kind)?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            last = Some((shown, p.width, p.height));
        }
        ms.sort_by(f64::total_cmp);
        let (shown, w, h) = last.ok_or("no run")?;
        println!(
            "page={page} kind={} size={w}x{h} bytes={} ms={:.1}",
            shown.kind.as_str(),
            shown.bytes.len(),
            ms[ms.len() / 2]
        );
        if page == 1 {
            first = Some(shown.bytes);
        }
    }
    let first = first.ok_or("no page")?;
    std::fs::write(out.join("page-1.jpg"), &first)?;
    let limits = mark::Limits::default();
    let img = image::load_from_memory(&first)?;
    let height = (f64::from(img.height()) * 990.0 / f64::from(img.width())).round() as u32;
    let mut shot = std::io::Cursor::new(Vec::new());
    img.resize_exact(990, height, image::imageops::FilterType::Triangle)
        .to_rgb8()
        .write_to(&mut shot, image::ImageFormat::Png)?;
    let traced = [first.as_slice(), shot.get_ref()].iter().all(|bytes| {
        mark::trace(bytes, Some(&key), &limits)
            .ok()
            .flatten()
            .is_some_and(|t| t.mark_id == issue.mark_id)
    });
    println!("traced={traced}");
    Ok(())
}
