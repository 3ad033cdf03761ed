//! Scale estimation for the forensic detector. A copy shown at scale `s`
//! repeats the mark's tile every `256·s` pixels in both directions, so the
//! clipped 3×3 high-pass residual is periodic with that period, which the
//! host is not (or not in the same way). The estimator sums the residual over
//! bands of 4 rows (and of 4 columns), takes the autocorrelation of those
//! band sums along the band, and scores every period by the autocorrelation
//! at its multiples (in noise units, both directions pooled); the best few
//! local maxima are the candidate scales. The sync correlation then decides,
//! so a wrong candidate only costs time (and is counted in the false-positive
//! bound of the caller).
//!
//! What the host repeats is removed first: the part common to all bands (a
//! straight line across the image: a ruled grid, a window's edge), what
//! repeats every 8 pixels (the blocks of a JPEG), and the host's own
//! strongest short period when it has one (a grid, a texture); band sums far
//! above the median magnitude are dropped.
//!
//! Two passes cover scales 0.38–2.1: one on the central 1024×1024 pixels as
//! they are (periods of 97–540 pixels), one on the central 2048×2048 averaged
//! 2×2 (periods of 194–540 pixels), where the 3×3 high-pass matches the
//! coarser cells of an enlarged copy.

use rustfft::FftPlanner;
use rustfft::num_complex::Complex32;

use super::{CELL, RESIDUAL_CLIP, TILE};

/// Period range searched in the passes at full and half size, in that pass's pixels.
const PERIODS: [(f32, f32); 2] = [(97.0, 540.0), (97.0, 270.0)];
/// Ratio between neighbouring periods tried (0.1 %).
const STEP: f32 = 1.001;
/// The estimator looks at the central 1024×1024 pixels at full size and the
/// central 2048×2048 at half size: several periods of the largest tile it seeks.
const CROP: usize = 1024;
/// Rows (or columns) summed together before the autocorrelation.
const BAND: usize = 4;
/// Periods searched for the host's own (a ruled grid, a texture), and how far
/// above the noise its comb must be to be removed.
const HOST_PERIODS: (f32, f32) = (6.0, 90.0);
const HOST_PERIODIC: f32 = 6.0;
/// Candidates closer than this ratio are one.
const DISTINCT: f32 = 1.006;

/// Up to `n` candidate scales, best first.
pub(super) fn candidates(y: &[f32], w: usize, h: usize, n: usize) -> Vec<f32> {
    let mut peaks: Vec<(f32, f32)> = Vec::new();
    let (full, fw, fh) = centre(y, w, h, CROP);
    let (big, bw, bh) = centre(y, w, h, 2 * CROP);
    let half = downsample(&big, bw, bh);
    let passes: [(&[f32], usize, usize, f32); 2] =
        [(&full, fw, fh, 1.0), (&half, bw / 2, bh / 2, 2.0)];
    let mut planner = FftPlanner::<f32>::new();
    for ((plane, pw, ph, factor), range) in passes.into_iter().zip(PERIODS) {
        if pw < 3 || ph < 3 {
            continue;
        }
        let r = residual(plane, pw, ph);
        let grid = (8.0 / factor) as usize;
        let ax = autocorrelation(&band_sums(&r, pw, ph, true), grid, &mut planner);
        let ay = autocorrelation(&band_sums(&r, pw, ph, false), grid, &mut planner);
        let (nx, ny) = (noise(&ax), noise(&ay));
        let mut scores = Vec::new();
        let mut p = range.0;
        while p <= range.1 {
            // The two projections pooled: Σ of both combs over √(all their terms).
            let ((sx, kx), (sy, ky)) = (comb(&ax, p, nx), comb(&ay, p, ny));
            let score = (sx + sy) / ((kx + ky).max(1) as f32).sqrt();
            scores.push((p, score));
            p *= STEP;
        }
        for win in scores.windows(3) {
            if let [(_, a), (p, b), (_, c)] = win
                && b > a
                && b >= c
                && *b > 0.0
            {
                peaks.push((*b, p * factor / (CELL * TILE as f32)));
            }
        }
    }
    peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<f32> = Vec::with_capacity(n);
    for (_, s) in peaks {
        if out.len() == n {
            break;
        }
        if out.iter().all(|&o| (o / s).max(s / o) > DISTINCT) {
            out.push(s);
        }
    }
    out
}

/// The centre of the plane, at most `max`×`max` pixels.
pub(super) fn centre(y: &[f32], w: usize, h: usize, max: usize) -> (Vec<f32>, usize, usize) {
    let (cw, ch) = (w.min(max), h.min(max));
    let (x0, y0) = ((w - cw) / 2, (h - ch) / 2);
    let mut out = Vec::with_capacity(cw * ch);
    for row in y.chunks_exact(w.max(1)).skip(y0).take(ch) {
        out.extend_from_slice(row.get(x0..x0 + cw).unwrap_or(&[]));
    }
    let ch = out.len() / cw.max(1);
    (out, cw, ch)
}

/// The plane averaged over 2×2 pixels.
pub(super) fn downsample(y: &[f32], w: usize, h: usize) -> Vec<f32> {
    let (hw, hh) = (w / 2, h / 2);
    let mut out = vec![0f32; hw * hh];
    for (oy, dst) in out.chunks_exact_mut(hw.max(1)).enumerate() {
        let (Some(a), Some(b)) = (
            y.get(2 * oy * w..(2 * oy + 1) * w),
            y.get((2 * oy + 1) * w..(2 * oy + 2) * w),
        ) else {
            continue;
        };
        for (ox, d) in dst.iter_mut().enumerate() {
            let s: f32 = a.get(2 * ox..2 * ox + 2).map_or(0.0, |v| v.iter().sum())
                + b.get(2 * ox..2 * ox + 2).map_or(0.0, |v| v.iter().sum());
            *d = s / 4.0;
        }
    }
    out
}

/// The 3×3 mean-subtracted residual, clipped (zero on the border).
pub(super) fn residual(y: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut h3 = vec![0f32; w * h];
    for (src, dst) in y.chunks_exact(w).zip(h3.chunks_exact_mut(w)) {
        for (d, win) in dst.iter_mut().skip(1).zip(src.windows(3)) {
            *d = win.iter().sum();
        }
    }
    let mut r = vec![0f32; w * h];
    for yy in 1..h.saturating_sub(1) {
        let (Some(up), Some(mid), Some(down), Some(centre), Some(out)) = (
            h3.get((yy - 1) * w..yy * w),
            h3.get(yy * w..(yy + 1) * w),
            h3.get((yy + 1) * w..(yy + 2) * w),
            y.get(yy * w..(yy + 1) * w),
            r.get_mut(yy * w..(yy + 1) * w),
        ) else {
            continue;
        };
        for xx in 1..w.saturating_sub(1) {
            let s = up.get(xx).copied().unwrap_or(0.0)
                + mid.get(xx).copied().unwrap_or(0.0)
                + down.get(xx).copied().unwrap_or(0.0);
            if let Some(o) = out.get_mut(xx) {
                *o = (centre.get(xx).copied().unwrap_or(0.0) - s / 9.0)
                    .clamp(-RESIDUAL_CLIP, RESIDUAL_CLIP);
            }
        }
    }
    r
}

/// Sums of the residual over bands of [`BAND`] rows (`along_x`: one value per
/// column and band) or of [`BAND`] columns (one value per row and band).
fn band_sums(r: &[f32], w: usize, h: usize, along_x: bool) -> Vec<Vec<f32>> {
    if along_x {
        r.chunks(w * BAND)
            .map(|band| {
                let mut s = vec![0f32; w];
                for row in band.chunks_exact(w) {
                    s.iter_mut().zip(row).for_each(|(a, b)| *a += b);
                }
                s
            })
            .collect()
    } else {
        let mut out = vec![vec![0f32; h]; w.div_ceil(BAND)];
        for (yy, row) in r.chunks_exact(w).enumerate() {
            for (band, chunk) in out.iter_mut().zip(row.chunks(BAND)) {
                if let Some(v) = band.get_mut(yy) {
                    *v = chunk.iter().sum();
                }
            }
        }
        out
    }
}

/// The autocorrelation of the band sums along one axis, summed over the bands
/// and divided by its lag-0 value. The band sums first lose what all bands
/// share ([`without_common`]), what repeats every `grid` samples (the 8×8
/// blocks of a JPEG would otherwise give every multiple of 8 pixels a peak)
/// and then what repeats at the host's own strongest short period, when it
/// has one (the ruled grid of a drawing, a texture).
fn autocorrelation(bands: &[Vec<f32>], grid: usize, planner: &mut FftPlanner<f32>) -> Vec<f32> {
    let first: Vec<Vec<f32>> = without_common(bands)
        .iter()
        .map(|v| notch(v, grid as f32))
        .collect();
    let ac = band_autocorrelation(&first, planner);
    let sigma = noise(&ac);
    // The host's strongest short period, by the same comb as the mark's.
    let mut host = (0f32, 0f32);
    let mut g = HOST_PERIODS.0;
    while g <= HOST_PERIODS.1 {
        let (sum, k) = comb(&ac, g, sigma);
        let z = sum / (k.max(1) as f32).sqrt();
        if z > host.1 {
            host = (g, z);
        }
        g *= STEP;
    }
    if host.1 < HOST_PERIODIC {
        return ac;
    }
    let second: Vec<Vec<f32>> = first.iter().map(|v| notch(v, host.0)).collect();
    band_autocorrelation(&second, planner)
}

/// The bands less their median at each position: a straight line across the
/// image (a ruled grid, a window's edge) is the same in every band, the mark
/// is not.
fn without_common(bands: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let len = bands.first().map_or(0, Vec::len);
    let mut column = Vec::with_capacity(bands.len());
    let medians: Vec<f32> = (0..len)
        .map(|i| {
            column.clear();
            column.extend(bands.iter().filter_map(|b| b.get(i)));
            let mid = column.len() / 2;
            if column.is_empty() {
                0.0
            } else {
                *column.select_nth_unstable_by(mid, f32::total_cmp).1
            }
        })
        .collect();
    bands
        .iter()
        .map(|b| b.iter().zip(&medians).map(|(v, m)| v - m).collect())
        .collect()
}

/// `v[i] − (v[i−g] + v[i+g]) / 2` (linearly interpolated; 0 where a neighbour is missing).
fn notch(v: &[f32], g: f32) -> Vec<f32> {
    let at = |x: f32| -> Option<f32> {
        if x < 0.0 {
            return None;
        }
        let i = x.floor() as usize;
        let t = x - i as f32;
        Some(v.get(i)? * (1.0 - t) + v.get(i + 1).copied().unwrap_or(0.0) * t)
    };
    (0..v.len())
        .map(|i| {
            let c = v.get(i).copied().unwrap_or(0.0);
            match (at(i as f32 - g), at(i as f32 + g)) {
                (Some(a), Some(b)) if i as f32 + g < v.len().saturating_sub(1) as f32 => {
                    c - (a + b) / 2.0
                }
                _ => 0.0,
            }
        })
        .collect()
}

/// Σ over the bands of each one's autocorrelation (by FFT, two bands per
/// transform), divided by its lag-0 value; values beyond three times the
/// median magnitude of all band sums are dropped first (so that a few ruled
/// lines cannot drown the rest).
fn band_autocorrelation(bands: &[Vec<f32>], planner: &mut FftPlanner<f32>) -> Vec<f32> {
    let len = bands.first().map_or(0, Vec::len);
    let mut mags: Vec<f32> = bands.iter().flatten().map(|x| x.abs()).collect();
    let mid = mags.len() / 2;
    let limit = if mags.is_empty() {
        0.0
    } else {
        3.0 * *mags.select_nth_unstable_by(mid, f32::total_cmp).1
    };
    let n = (2 * len).next_power_of_two().max(2);
    let fwd = planner.plan_fft_forward(n);
    let mut power = vec![Complex32::new(0.0, 0.0); n];
    let mut a = vec![Complex32::new(0.0, 0.0); n];
    let keep = |x: f32| if x.abs() <= limit { x } else { 0.0 };
    // Two bands per transform, one real and one imaginary:
    // |A(k)|² + |B(k)|² = (|Z(k)|² + |Z(n−k)|²) / 2 for Z = A + iB.
    for pair in bands.chunks(2) {
        a.iter_mut().for_each(|c| *c = Complex32::new(0.0, 0.0));
        if let Some(re) = pair.first() {
            a.iter_mut().zip(re).for_each(|(c, &x)| c.re = keep(x));
        }
        if let Some(im) = pair.get(1) {
            a.iter_mut().zip(im).for_each(|(c, &x)| c.im = keep(x));
        }
        fwd.process(&mut a);
        for (k, p) in power.iter_mut().enumerate() {
            let (Some(z), Some(m)) = (a.get(k), a.get((n - k) % n)) else {
                continue;
            };
            p.re += (z.norm_sqr() + m.norm_sqr()) / 2.0;
        }
    }
    planner.plan_fft_inverse(n).process(&mut power);
    let zero = power.first().map_or(0.0, |c| c.re).max(1e-12);
    power.iter().take(len).map(|c| c.re / zero).collect()
}

/// The spread of the autocorrelation over lags where no period is sought
/// (1.4826 × the median absolute value over lags 8 to half the length).
fn noise(ac: &[f32]) -> f32 {
    let mut mags: Vec<f32> = ac
        .iter()
        .take(ac.len() / 2)
        .skip(8)
        .map(|v| v.abs())
        .collect();
    mags.sort_by(f32::total_cmp);
    1.4826 * mags.get(mags.len() / 2).copied().unwrap_or(1.0).max(1e-6)
}

/// Σ over the multiples `k·p` (k ≥ 1) that leave at least 40 % overlap of the
/// autocorrelation, linearly interpolated, in units of its spread `sigma`,
/// and how many multiples there were.
fn comb(ac: &[f32], p: f32, sigma: f32) -> (f32, usize) {
    let limit = ac.len() as f32 * 0.6;
    let (mut sum, mut k) = (0.0, 0usize);
    let mut lag = p;
    while lag < limit {
        let i = lag.floor() as usize;
        let t = lag - i as f32;
        let (a, b) = (
            ac.get(i).copied().unwrap_or(0.0),
            ac.get(i + 1).copied().unwrap_or(0.0),
        );
        sum += a + (b - a) * t;
        k += 1;
        lag += p;
    }
    (sum / sigma, k)
}
