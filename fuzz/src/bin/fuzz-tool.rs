//! `fuzz-tool seeds DIR`: writes the seed corpus of every target into
//! `DIR/<target>/` where that directory is missing or empty.
//! `fuzz-tool materialise TARGET INPUT OUT_DIR`: writes the file a fuzzer
//! input of a dlp target becomes (what a regression test keeps), named
//! `<target>-<input stem>.<extension of the file name the target uses>`;
//! for the other targets it copies the input.

use std::path::Path;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["seeds", dir] => seeds(Path::new(dir)),
        ["materialise", target, input, out] => {
            materialise(target, Path::new(input), Path::new(out))
        }
        _ => Err(
            "usage: fuzz-tool seeds DIR | fuzz-tool materialise TARGET INPUT OUT_DIR".to_owned(),
        ),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuzz-tool: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn seeds(dir: &Path) -> Result<(), String> {
    let targets = custody_fuzz::DLP_TARGETS
        .iter()
        .chain(&custody_fuzz::MARK_TARGETS);
    for target in targets {
        let tdir = dir.join(target);
        let empty = std::fs::read_dir(&tdir).map_or(true, |mut d| d.next().is_none());
        if !empty {
            continue;
        }
        std::fs::create_dir_all(&tdir).map_err(|e| format!("{}: {e}", tdir.display()))?;
        let seeds = custody_fuzz::seeds::seeds(target);
        let total: usize = seeds.iter().map(|(_, b)| b.len()).sum();
        for (name, bytes) in &seeds {
            std::fs::write(tdir.join(name), bytes).map_err(|e| format!("{name}: {e}"))?;
        }
        eprintln!("fuzz-tool: {target}: {} seeds, {total} bytes", seeds.len());
    }
    Ok(())
}

fn materialise(target: &str, input: &Path, out: &Path) -> Result<(), String> {
    let data = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let stem = input
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem: String = stem.chars().take(20).collect();
    let (name, bytes) = match custody_fuzz::dlp_file(target, &data) {
        Some((name, bytes)) => {
            let ext = name
                .rsplit_once('.')
                .map(|(_, e)| format!(".{e}"))
                .unwrap_or_default();
            (format!("{target}-{stem}{ext}"), bytes)
        }
        None => (format!("{target}-{stem}"), data),
    };
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let path = out.join(&name);
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}
