//! The viewer's pages as they were drawn before the per-view cache and the
//! encodings by kind of page, for `bench/viewer.sh`: the script copies this
//! file into a worktree of the revision measured (`BEFORE_REV`) as
//! `crates/render/examples/viewer_before.rs` and builds it there, so it uses
//! only the render API of that revision. Each page as one request to
//! `GET /files/{id}/pages/{n}` was: the document's pages counted, the page
//! rendered at 150 dpi, stamped and marked, and encoded as PNG.
//!
//! `viewer_before PDF RUNS OUT_DIR` prints `page=N kind=png size=WxH bytes=B
//! ms=T` per page (T the median of RUNS, in ms), then `traced=true|false`
//! (the mark of page 1 read back from the PNG as sent).

use std::path::PathBuf;
use std::time::Instant;

use mark::{Issue, MarkId, MarkKey, Recipient, Style};
use render::{RenderLimits, Renderer, mark_page, to_png};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pdf, runs, out] = args.as_slice() else {
        return Err("usage: viewer_before PDF RUNS OUT_DIR".into());
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(&std::fs::read(pdf)?, runs.parse()?, &PathBuf::from(out)))
}

async fn run(pdf: &[u8], runs: usize, out: &std::path::Path) -> Res<()> {
    let r = Renderer::new(150, RenderLimits::default(), "pdftoppm");
    let issue = Issue {
        recipient: Recipient {
            name: "Zoë Ångström".into(),
            email: "zoe@vendor.example".into(),
            party: "Vendor GmbH".into(),
        },
        issued_at: mark::OffsetDateTime::from_unix_timestamp(1_795_000_000)?,
        mark_id: MarkId(0x0123_4567_89ab_cdef),
    };
    let (style, key) = (Style::default(), MarkKey::derive(b"bench key"));
    let pages = r.page_count(pdf).await?;
    let mut first = None;
    for page in 1..=pages {
        let mut ms = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            r.page_count(pdf).await?;
            let mut p = r.render_page(pdf, "bench.pdf", page).await?;
            mark_page(&mut p, &issue, &style, &key)?;
            let png = to_png(&p)?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            last = Some((png, p.width, p.height));
        }
        ms.sort_by(f64::total_cmp);
        let (png, w, h) = last.ok_or("no run")?;
        println!(
            "page={page} kind=png size={w}x{h} bytes={} ms={:.1}",
            png.len(),
            ms[ms.len() / 2]
        );
        if page == 1 {
            first = Some(png);
        }
    }
    let first = first.ok_or("no page")?;
    std::fs::write(out.join("page-1.png"), &first)?;
    let traced = mark::trace(&first, Some(&key), &mark::Limits::default())?
        .is_some_and(|t| t.mark_id == issue.mark_id);
    println!("traced={traced}");
    Ok(())
}
