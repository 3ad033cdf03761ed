//! Measures the render crate for `bench/render.sh` (run in release).
//!
//! `render_bench gen OUT_DIR` writes `plain.pdf` (10 A4 pages of 50 lines of
//! text in Helvetica, which the script turns into a typical PDF with embedded
//! fonts and compressed streams through Ghostscript) and `notes.rs` (130
//! lines of source code).
//!
//! `render_bench run PDF TEXT RUNS OUT_DIR` renders page 1 of PDF at 150 dpi
//! RUNS times and prints `key=value` lines: medians (and the fastest runs) of
//! counting the pages, rendering a page, marking it, PNG-encoding it,
//! all three in a row, and rendering a text page; it also writes the marked pages
//! (`pdf-page.png`, `text-page.png`) to OUT_DIR for a look.

use std::path::PathBuf;
use std::time::Instant;

use mark::image::Pixels;
use mark::{Issue, MarkId, MarkKey, Recipient, Style};
use render::{DEFAULT_DPI, RenderLimits, Renderer, mark_page, to_png};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen", out] => generate(&PathBuf::from(out)),
        ["run", pdf, text, runs, out] => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(run(
                &std::fs::read(pdf)?,
                &std::fs::read(text)?,
                runs.parse()?,
                &PathBuf::from(out),
            ))
        }
        _ => Err("usage: render_bench gen OUT_DIR | run PDF TEXT RUNS OUT_DIR".into()),
    }
}

fn generate(out: &std::path::Path) -> Res<()> {
    let words = [
        "the",
        "design",
        "tolerance",
        "of",
        "each",
        "bracket",
        "is",
        "measured",
        "against",
        "supplier",
        "drawing",
        "revision",
        "and",
        "load",
        "case",
        "before",
        "release",
    ];
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut kids = Vec::new();
    for page in 0..10 {
        let mut content = String::from("BT /F1 10 Tf 60 790 Td 14.5 TL\n");
        for line in 0..50 {
            let text: Vec<&str> = (0..14)
                .map(|w| words[(page * 3 + line * 5 + w * w * 7 + w) % words.len()])
                .collect();
            content.push_str(&format!("({}) '\n", text.join(" ")));
        }
        content.push_str("ET\n");
        let id = objects.len() + 1;
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
            id + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
        kids.push(format!("{id} 0 R"));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} /MediaBox [0 0 595 842] >>",
        kids.join(" "),
        kids.len()
    );
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).into_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for off in offsets {
        pdf.extend(format!("{off:010} 00000 n \n").into_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    std::fs::write(out.join("plain.pdf"), pdf)?;
    let code: String = (0..130)
        .map(|i| format!("\tlet value_{i} = compute({i}, \"bracket\"); // load case {i}\n"))
        .collect();
    std::fs::write(out.join("notes.rs"), code)?;
    Ok(())
}

/// Median and fastest of `runs` timings of `f`, in milliseconds.
async fn time<T, F: AsyncFnMut() -> Res<T>>(runs: usize, mut f: F) -> Res<(f64, f64)> {
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f().await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], ms[0]))
}

async fn run(pdf: &[u8], text: &[u8], runs: usize, out: &std::path::Path) -> Res<()> {
    let r = Renderer::new(DEFAULT_DPI, RenderLimits::default(), "pdftoppm");
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
    let full = async |content: &[u8]| -> Res<Vec<u8>> {
        let mut p = r.render_page(content, "notes.rs", 1).await?;
        mark_page(&mut p, &issue, &style, &key)?;
        Ok(to_png(&p)?)
    };
    let emit = |k: &str, (median, best): (f64, f64)| {
        println!("{k}_ms={median:.1}");
        println!("{k}_best_ms={best:.1}");
    };
    emit(
        "pdf_count",
        time(runs, async || Ok(r.page_count(pdf).await?)).await?,
    );
    emit(
        "pdf_render",
        time(runs, async || Ok(r.render_page(pdf, "a.pdf", 1).await?)).await?,
    );
    let page = r.render_page(pdf, "a.pdf", 1).await?;
    let copy = || Pixels {
        data: page.data.clone(),
        ..page
    };
    emit(
        "pdf_mark",
        time(runs, async || {
            Ok(mark_page(&mut copy(), &issue, &style, &key)?)
        })
        .await?,
    );
    let mut marked = copy();
    mark_page(&mut marked, &issue, &style, &key)?;
    emit("pdf_png", time(runs, async || Ok(to_png(&marked)?)).await?);
    emit("pdf_full", time(runs, async || full(pdf).await).await?);
    emit(
        "text_render",
        time(runs, async || {
            Ok(r.render_page(text, "notes.rs", 1).await?)
        })
        .await?,
    );
    emit("text_full", time(runs, async || full(text).await).await?);

    println!("pdf_page_size={}x{}", page.width, page.height);
    let png = full(pdf).await?;
    println!("pdf_png_bytes={}", png.len());
    let traced = mark::trace(&png, Some(&key), &mark::Limits::default())?;
    println!(
        "pdf_traced={}",
        traced.is_some_and(|t| t.mark_id == issue.mark_id)
    );
    std::fs::write(out.join("pdf-page.png"), &png)?;
    std::fs::write(out.join("text-page.png"), full(text).await?)?;
    Ok(())
}
