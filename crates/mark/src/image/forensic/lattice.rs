//! Lattice estimation for the forensic detector: the affine geometry of a
//! copy (rotation, scale, aspect, shear: any linear map) from the mark's own
//! periodicity. The mark repeats its tile along two vectors of the original,
//! (256, 0) and (0, 256) pixels; in a copy transformed by a linear map `M`
//! (locally, for a perspective) it repeats along `M·(256, 0)` and
//! `M·(0, 256)`. The 2-D autocorrelation of the clipped high-pass residual
//! therefore peaks on the lattice those two vectors span, which the host does
//! not (or not in the same way).
//!
//! The estimator takes the residual of a central window, removes what repeats
//! every 8 pixels (the blocks of a JPEG, aligned to the copy's own grid),
//! computes the autocorrelation by FFT (zero-padded, so no lag wraps), scores
//! every lag in noise units and picks its strongest local maxima at lengths
//! of a tile from scale 0.22 to 2.3. Pairs of peaks that could be the tile's
//! two axes (one within 25° of the x axis, one within 25° of the y axis,
//! lengths within a ratio of 1.33) are scored by the autocorrelation at the
//! lattice points they span; the best pairs are refined to a fraction of a
//! pixel by a least-squares fit of every lattice point in range (each located
//! by a parabola through its peak). Two passes, as for the scale: the central
//! 640×640 pixels as they are (periods of 52–300 pixels) and the central
//! 1280×1280 averaged 2×2 (periods of 104–580 pixels). The sync correlation
//! then decides, so a wrong lattice only costs time (and is counted in the
//! false-positive bound).

use rustfft::FftPlanner;
use rustfft::num_complex::Complex32;

use super::RESIDUAL_CLIP;
use super::scale::{centre, downsample, residual};

/// The tile's two axes in a copy: suspect pixels per tile along the tile's x
/// and y directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Lattice {
    pub ax: [f32; 2],
    pub ay: [f32; 2],
}

impl Lattice {
    /// The mean scale of the copy relative to the original.
    pub fn scale(&self) -> f32 {
        let det = (self.ax[0] * self.ay[1] - self.ax[1] * self.ay[0]).abs();
        det.sqrt() / 256.0
    }

    /// The lattice turned by `deg` degrees and stretched by `sx` along its x
    /// axis and `sy` along its y axis.
    pub fn perturbed(&self, deg: f32, sx: f32, sy: f32) -> Lattice {
        let (s, c) = deg.to_radians().sin_cos();
        let rot = |v: [f32; 2], k: f32| [k * (c * v[0] - s * v[1]), k * (s * v[0] + c * v[1])];
        Lattice {
            ax: rot(self.ax, sx),
            ay: rot(self.ay, sy),
        }
    }

    /// Whether two lattices are the same to within `tol` pixels per tile.
    fn near(&self, o: &Lattice, tol: f32) -> bool {
        let d = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
        d(self.ax, o.ax) < tol && d(self.ay, o.ay) < tol
    }
}

/// Side of the window of each pass (full size, then averaged 2×2), and the
/// range of lag lengths searched, in that pass's pixels.
const PASSES: [(usize, usize, f32, f32); 2] = [(640, 1, 52.0, 300.0), (1280, 2, 52.0, 290.0)];
/// Local maxima of the autocorrelation kept per pass.
const PEAKS: usize = 32;
/// Strongest peaks of one axis from which the other is also sought square to it.
const SQUARED: usize = 3;
/// Cap of the power spectrum, in medians.
const POWER_CAP: f32 = 4.0;
/// Largest angle between a tile axis and the image axis (degrees).
const MAX_TURN: f32 = 25.0;
/// Largest ratio between the lengths of the two axes.
const MAX_RATIO: f32 = 1.33;

/// Up to `n` candidate lattices, best first.
pub(super) fn candidates(y: &[f32], w: usize, h: usize, n: usize) -> Vec<Lattice> {
    // The two passes side by side (a second thread: the transforms are most
    // of the time).
    let [first, second] = PASSES;
    let mut found = std::thread::scope(|scope| {
        let other = scope.spawn(|| pass(y, w, h, second));
        let mut found = pass(y, w, h, first);
        // A panic of the other thread is the search's own: pass it on.
        found.extend(
            other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        );
        found
    });
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<Lattice> = Vec::with_capacity(n);
    for (_, lat) in found {
        if out.len() == n {
            break;
        }
        if out.iter().all(|o| !o.near(&lat, 1.0)) {
            out.push(lat);
        }
    }
    out
}

/// The scored lattices of one pass (window side, averaging factor, range of
/// lag lengths), in the suspect's pixels.
fn pass(
    y: &[f32],
    w: usize,
    h: usize,
    (side, factor, rmin, rmax): (usize, usize, f32, f32),
) -> Vec<(f32, Lattice)> {
    let (plane, pw, ph) = centre(y, w, h, side);
    let (plane, pw, ph) = if factor == 2 {
        (downsample(&plane, pw, ph), pw / 2, ph / 2)
    } else {
        (plane, pw, ph)
    };
    // A window too small for two periods of the shortest lag is not searched.
    if pw < 2 * rmin as usize || ph < 2 * rmin as usize {
        return Vec::new();
    }
    let grid = 8 / factor;
    let mut clipped = residual(&plane, pw, ph);
    // A clipped residual is mostly a host's edge (a stroke, a line), not
    // the mark: the residual is searched as it is, and without them and
    // without straight lines along its rows and columns.
    let mut edgeless = clipped.clone();
    edgeless
        .iter_mut()
        .filter(|v| v.abs() >= RESIDUAL_CLIP)
        .for_each(|v| *v = 0.0);
    remove_lines(&mut edgeless, pw, ph);
    remove_periodic(&mut clipped, pw, ph, grid);
    remove_periodic(&mut edgeless, pw, ph, grid);
    let k = factor as f32;
    Autocorrelation::pair(&clipped, &edgeless, pw, ph, rmax)
        .into_iter()
        .flatten()
        .flat_map(|ac| ac.lattices(rmin, rmax))
        .map(|(score, lat)| {
            let lat = Lattice {
                ax: [lat.ax[0] * k, lat.ax[1] * k],
                ay: [lat.ay[0] * k, lat.ay[1] * k],
            };
            (score, lat)
        })
        .collect()
}

/// Subtracts from the residual its mean over each class of `(x mod g, y mod g)`:
/// what repeats every `g` pixels in both directions (a JPEG's blocks).
fn remove_periodic(r: &mut [f32], w: usize, h: usize, g: usize) {
    if g < 2 || w == 0 {
        return;
    }
    let mut sum = vec![0f32; g * g];
    let mut count = vec![0f32; g * g];
    for (yy, row) in r.chunks_exact(w).enumerate().take(h) {
        let c = (yy % g) * g;
        let (Some(s), Some(n)) = (sum.get_mut(c..c + g), count.get_mut(c..c + g)) else {
            continue;
        };
        for run in row.chunks(g) {
            for ((s, n), v) in s.iter_mut().zip(n.iter_mut()).zip(run) {
                *s += v;
                *n += 1.0;
            }
        }
    }
    let mean: Vec<f32> = sum
        .iter()
        .zip(&count)
        .map(|(s, n)| s / n.max(1.0))
        .collect();
    for (yy, row) in r.chunks_exact_mut(w).enumerate().take(h) {
        let c = (yy % g) * g;
        let Some(m) = mean.get(c..c + g) else {
            continue;
        };
        for run in row.chunks_mut(g) {
            run.iter_mut().zip(m).for_each(|(v, m)| *v -= m);
        }
    }
}

/// Subtracts from the residual the mean of its row, then of its column: a
/// straight line across the window (a rule, a baseline, a window's edge) is
/// the same along it, the mark is not.
fn remove_lines(r: &mut [f32], w: usize, h: usize) {
    if w == 0 || h == 0 {
        return;
    }
    for row in r.chunks_exact_mut(w) {
        let mean = row.iter().sum::<f32>() / w as f32;
        row.iter_mut().for_each(|v| *v -= mean);
    }
    let mut cols = vec![0f32; w];
    for row in r.chunks_exact(w) {
        cols.iter_mut().zip(row).for_each(|(c, v)| *c += v);
    }
    for row in r.chunks_exact_mut(w) {
        row.iter_mut()
            .zip(&cols)
            .for_each(|(v, c)| *v -= c / h as f32);
    }
}

/// The autocorrelation of a window in noise units, for lags up to `rmax`.
struct Autocorrelation {
    /// Scores for lags dx in −rmax..=rmax, dy in 0..=rmax (row-major).
    z: Vec<f32>,
    r: isize,
}

impl Autocorrelation {
    /// The autocorrelations of two windows of the same size, both from one
    /// complex transform (the first window as its real part, the second as
    /// its imaginary part) and one inverse.
    fn pair(
        one: &[f32],
        two: &[f32],
        w: usize,
        h: usize,
        rmax: f32,
    ) -> [Option<Autocorrelation>; 2] {
        let r = rmax.ceil() as usize + 2;
        let (fw, fh) = (pad(w + r), pad(h + r));
        let mut a = vec![Complex32::new(0.0, 0.0); fw * fh];
        for ((row, s1), s2) in a
            .chunks_exact_mut(fw)
            .zip(one.chunks_exact(w))
            .zip(two.chunks_exact(w))
        {
            row.iter_mut()
                .zip(s1.iter().zip(s2))
                .for_each(|(c, (&u, &v))| *c = Complex32::new(u, v));
        }
        let mut planner = FftPlanner::<f32>::new();
        let (rows_f, cols_f) = (planner.plan_fft_forward(fw), planner.plan_fft_forward(fh));
        let (rows_i, cols_i) = (planner.plan_fft_inverse(fw), planner.plan_fft_inverse(fh));
        // Rows from `h` on are zero (their transforms too): only the first
        // `h` rows are transformed, then every column.
        rows_f.process(a.get_mut(..h * fw).unwrap_or_default());
        columns(&mut a, fw, fh, cols_f.as_ref());
        // The two spectra: U(k) = (A(k) + A*(−k)) / 2, V(k) = (A(k) − A*(−k)) / 2i;
        // their powers.
        let mut p1 = vec![0f32; fw * fh];
        let mut p2 = vec![0f32; fw * fh];
        for ky in 0..fh {
            let my = (fh - ky) % fh;
            for kx in 0..fw {
                let mx = (fw - kx) % fw;
                let (Some(&x), Some(&m)) = (a.get(ky * fw + kx), a.get(my * fw + mx)) else {
                    continue;
                };
                let m = m.conj();
                let (u, v) = ((x + m) * 0.5, (x - m) * 0.5);
                if let (Some(o1), Some(o2)) = (p1.get_mut(ky * fw + kx), p2.get_mut(ky * fw + kx)) {
                    *o1 = u.norm_sqr();
                    *o2 = v.norm_sqr();
                }
            }
        }
        // Each power spectrum capped at a few times its median: a host's
        // strong short periods (text lines, strokes, a texture) are a few
        // strong lines of it, the mark's lattice many weak points.
        for p in [&mut p1, &mut p2] {
            let cap = POWER_CAP * nth(p, p.len() / 2).unwrap_or(0.0);
            p.iter_mut().for_each(|v| *v = v.min(cap));
        }
        // Both powers are real and even: their inverse transforms are real,
        // so one inverse carries both.
        a.iter_mut()
            .zip(p1.iter().zip(&p2))
            .for_each(|(c, (&u, &v))| *c = Complex32::new(u, v));
        // Only lags dy ≤ r are read: every column, then the first r + 1 rows.
        columns(&mut a, fw, fh, cols_i.as_ref());
        let lags = a.get_mut(..(r + 1).min(fh) * fw).unwrap_or_default();
        rows_i.process(lags);
        let real: Vec<f32> = lags.iter().map(|c| c.re).collect();
        let imag: Vec<f32> = lags.iter().map(|c| c.im).collect();
        [
            Autocorrelation::scored(&real, w, h, fw, r),
            Autocorrelation::scored(&imag, w, h, fw, r),
        ]
    }

    /// Scores in noise units from the inverse transform `ac` (rows of `fw`) of
    /// a `w`×`h` window's power spectrum, for lags up to `r`.
    fn scored(ac: &[f32], w: usize, h: usize, fw: usize, r: usize) -> Option<Autocorrelation> {
        let zero = *ac.first()?;
        if zero <= 1e-9 {
            return None;
        }
        let n = (w * h) as f32;
        let ri = r as isize;
        let side = 2 * r + 1;
        let mut z = vec![0f32; side * (r + 1)];
        for dy in 0..=ri {
            for dx in -ri..=ri {
                let (ox, oy) = (w as isize - dx.abs(), h as isize - dy);
                if ox < 16 || oy < 16 {
                    continue;
                }
                let overlap = (ox * oy) as f32;
                let ix = dx.rem_euclid(fw as isize) as usize;
                let v = ac.get(dy as usize * fw + ix).copied().unwrap_or(0.0);
                // Normalised correlation at this lag, times √overlap: ≈ N(0, c) under the null.
                let corr = v / zero * n / overlap;
                if let Some(o) = z.get_mut(dy as usize * side + (dx + ri) as usize) {
                    *o = corr * overlap.sqrt();
                }
            }
        }
        // Noise units: the robust spread of the scores over all lags.
        let mags: Vec<f32> = z.iter().map(|v| v.abs()).filter(|v| *v > 0.0).collect();
        let spread = nth(&mags, mags.len() / 2).map_or(1.0, |m| 1.4826 * m);
        z.iter_mut().for_each(|v| *v /= spread.max(1e-9));
        Some(Autocorrelation { z, r: ri })
    }

    /// The score at a lag (0 outside the computed range); negative dy by symmetry.
    fn at(&self, dx: isize, dy: isize) -> f32 {
        let (dx, dy) = if dy < 0 { (-dx, -dy) } else { (dx, dy) };
        if dx.abs() > self.r || dy > self.r {
            return 0.0;
        }
        let side = 2 * self.r + 1;
        self.z
            .get(dy as usize * side as usize + (dx + self.r) as usize)
            .copied()
            .unwrap_or(0.0)
    }

    /// The best score within a pixel of a real lag.
    fn near(&self, p: [f32; 2]) -> f32 {
        let (x, y) = (p[0].round() as isize, p[1].round() as isize);
        let mut best = f32::NEG_INFINITY;
        for oy in -1..=1 {
            for ox in -1..=1 {
                best = best.max(self.at(x + ox, y + oy));
            }
        }
        best
    }

    /// Scored candidate lattices with axes of `rmin`–`rmax` pixels.
    fn lattices(&self, rmin: f32, rmax: f32) -> Vec<(f32, Lattice)> {
        // Local maxima (5×5) in the upper half plane within the ring.
        let mut peaks: Vec<(f32, [f32; 2])> = Vec::new();
        let ri = rmax.ceil() as isize;
        for dy in 0..=ri {
            for dx in -ri..=ri {
                let len = (dx as f32).hypot(dy as f32);
                if len < rmin || len > rmax || (dy == 0 && dx <= 0) {
                    continue;
                }
                let v = self.at(dx, dy);
                if v <= 3.0 {
                    continue;
                }
                let mut top = true;
                'n: for oy in -2..=2 {
                    for ox in -2..=2 {
                        if (ox, oy) != (0, 0) && self.at(dx + ox, dy + oy) > v {
                            top = false;
                            break 'n;
                        }
                    }
                }
                if top {
                    // The mark's tile is random: its lattice is primitive, with
                    // nothing at half or a third of a period. A host's short
                    // period (text lines, a texture) has its multiples as peaks
                    // too: such a peak is worth what exceeds its fractions.
                    let (fx, fy) = (dx as f32, dy as f32);
                    let sub = [2.0, 3.0]
                        .iter()
                        .map(|k| self.near([fx / k, fy / k]))
                        .fold(0.0f32, f32::max);
                    peaks.push((v - sub, [fx, fy]));
                }
            }
        }
        peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
        peaks.truncate(PEAKS);
        // Each peak (or its opposite) as the x axis or the y axis.
        let turn = MAX_TURN.to_radians();
        let towards = |p: [f32; 2], axis: usize| {
            let q = if p.get(axis).copied().unwrap_or(0.0) < 0.0 {
                [-p[0], -p[1]]
            } else {
                p
            };
            let off = if axis == 0 {
                q[1].atan2(q[0])
            } else {
                q[0].atan2(q[1])
            };
            (off.abs() <= turn).then_some(q)
        };
        let mut xs: Vec<(f32, [f32; 2])> = peaks
            .iter()
            .filter_map(|&(v, p)| towards(p, 0).map(|q| (v, q)))
            .collect();
        let mut ys: Vec<(f32, [f32; 2])> = peaks
            .iter()
            .filter_map(|&(v, p)| towards(p, 1).map(|q| (v, q)))
            .collect();
        // An axis smeared below the peaks (a perspective changes the period
        // along it across the window) is also sought square to the other
        // axis's strongest peaks; the fit then moves it onto its points.
        let square = |axes: &[(f32, [f32; 2])], to_x: bool| -> Vec<(f32, [f32; 2])> {
            axes.iter()
                .take(SQUARED)
                .map(|&(_, a)| {
                    let q = if to_x { [a[1], -a[0]] } else { [-a[1], a[0]] };
                    (self.near(q), q)
                })
                .collect()
        };
        let (from_y, from_x) = (square(&ys, true), square(&xs, false));
        xs.extend(from_y);
        ys.extend(from_x);
        let mut out = Vec::new();
        for &(vx, ax) in &xs {
            for &(vy, ay) in &ys {
                let (lx, ly) = (ax[0].hypot(ax[1]), ay[0].hypot(ay[1]));
                if lx.max(ly) > MAX_RATIO * lx.min(ly) {
                    continue;
                }
                let sum = [ax[0] + ay[0], ax[1] + ay[1]];
                let diff = [ax[0] - ay[0], ax[1] - ay[1]];
                let half = [sum[0] / 2.0, sum[1] / 2.0];
                let score = vx + vy + self.near(sum).max(0.0) + self.near(diff).max(0.0)
                    - self.near(half).max(0.0);
                let lat = self.refine(Lattice { ax, ay }, rmax * 1.5);
                out.push((score, lat));
            }
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0));
        out.truncate(4);
        out
    }

    /// The lattice fitted by least squares to the sub-pixel positions of its
    /// points within `reach` pixels (twice: the fit moves the points).
    fn refine(&self, mut lat: Lattice, reach: f32) -> Lattice {
        for _ in 0..2 {
            // Normal equations of p ≈ m·ax + n·ay, weighted by the peak's score.
            let (mut smm, mut smn, mut snn) = (0f32, 0f32, 0f32);
            let (mut smp, mut snp) = ([0f32; 2], [0f32; 2]);
            for n in 0..=4i32 {
                for m in -4..=4i32 {
                    if n == 0 && m <= 0 {
                        continue;
                    }
                    let (mf, nf) = (m as f32, n as f32);
                    let p = [
                        mf * lat.ax[0] + nf * lat.ay[0],
                        mf * lat.ax[1] + nf * lat.ay[1],
                    ];
                    if p[0].hypot(p[1]) > reach {
                        continue;
                    }
                    let Some((wgt, q)) = self.subpixel(p) else {
                        continue;
                    };
                    smm += wgt * mf * mf;
                    smn += wgt * mf * nf;
                    snn += wgt * nf * nf;
                    for k in 0..2 {
                        smp[k] += wgt * mf * q[k];
                        snp[k] += wgt * nf * q[k];
                    }
                }
            }
            let det = smm * snn - smn * smn;
            if det.abs() < 1e-6 {
                return lat;
            }
            let mut next = lat;
            for k in 0..2 {
                next.ax[k] = (snn * smp[k] - smn * snp[k]) / det;
                next.ay[k] = (smm * snp[k] - smn * smp[k]) / det;
            }
            lat = next;
        }
        lat
    }

    /// The peak nearest a predicted lattice point (within 2 pixels), located
    /// by a parabola in each direction, with its score as weight; `None` when
    /// that score is below 3.
    fn subpixel(&self, p: [f32; 2]) -> Option<(f32, [f32; 2])> {
        let (x0, y0) = (p[0].round() as isize, p[1].round() as isize);
        let mut best = (f32::NEG_INFINITY, x0, y0);
        for oy in -2..=2 {
            for ox in -2..=2 {
                let v = self.at(x0 + ox, y0 + oy);
                if v > best.0 {
                    best = (v, x0 + ox, y0 + oy);
                }
            }
        }
        let (v, x, y) = best;
        if v < 3.0 {
            return None;
        }
        let vertex = |a: f32, b: f32, c: f32| {
            let d = a - 2.0 * b + c;
            if d < 0.0 {
                (0.5 * (a - c) / d).clamp(-0.5, 0.5)
            } else {
                0.0
            }
        };
        let fx = vertex(self.at(x - 1, y), v, self.at(x + 1, y));
        let fy = vertex(self.at(x, y - 1), v, self.at(x, y + 1));
        Some((v, [x as f32 + fx, y as f32 + fy]))
    }
}

/// The `k`-th smallest of `v` in the order of `f32::total_cmp` (what
/// `select_nth_unstable_by` would put at `k`), without reordering `v`: a
/// histogram of the values' upper 16 bits finds the bucket that holds it,
/// and only that bucket is sorted.
fn nth(v: &[f32], k: usize) -> Option<f32> {
    if k >= v.len() {
        return None;
    }
    // Bits that order as total_cmp orders the floats.
    let key = |x: f32| {
        let b = x.to_bits();
        if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
    };
    let mut hist = vec![0usize; 1 << 16];
    for &x in v {
        if let Some(n) = hist.get_mut((key(x) >> 16) as usize) {
            *n += 1;
        }
    }
    let mut below = 0;
    let mut bucket = 0;
    for (i, &n) in hist.iter().enumerate() {
        if below + n > k {
            bucket = i as u32;
            break;
        }
        below += n;
    }
    let mut inside: Vec<f32> = v
        .iter()
        .copied()
        .filter(|&x| key(x) >> 16 == bucket)
        .collect();
    let at = k - below;
    if at >= inside.len() {
        return None;
    }
    Some(*inside.select_nth_unstable_by(at, f32::total_cmp).1)
}

/// The FFT length used for `n` samples: a multiple of 64 (sizes with small factors).
fn pad(n: usize) -> usize {
    n.div_ceil(64) * 64
}

/// The FFT of every column of a `w`×`h` array, in place.
fn columns(a: &mut [Complex32], w: usize, h: usize, fft: &dyn rustfft::Fft<f32>) {
    let mut col = vec![Complex32::new(0.0, 0.0); h];
    for x in 0..w {
        for (yy, c) in col.iter_mut().enumerate() {
            *c = a.get(yy * w + x).copied().unwrap_or_default();
        }
        fft.process(&mut col);
        for (yy, c) in col.iter().enumerate() {
            if let Some(v) = a.get_mut(yy * w + x) {
                *v = *c;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_is_what_sorting_puts_there() {
        let mut seed = 11u64;
        let mut v: Vec<f32> = (0..5000)
            .map(|i| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let x = ((seed >> 40) as f32 / 16_777_216.0 - 0.3) * 1e3;
                // Repeated values, zeros of both signs, a wide range of magnitudes.
                match i % 7 {
                    0 => 2.5,
                    1 => 0.0,
                    2 => -0.0,
                    3 => x * 1e-6,
                    _ => x,
                }
            })
            .collect();
        let cases = [0, 1, 777, 2500, 4998, 4999];
        let got: Vec<Option<f32>> = cases.iter().map(|&k| nth(&v, k)).collect();
        v.sort_by(f32::total_cmp);
        for (&k, g) in cases.iter().zip(got) {
            assert_eq!(g.map(f32::to_bits), v.get(k).map(|x| x.to_bits()), "k {k}");
        }
        assert_eq!(nth(&v, 5000), None);
        assert_eq!(nth(&[], 0), None);
    }

    #[test]
    fn perturbing_by_nothing_keeps_the_lattice() {
        let l = Lattice {
            ax: [250.0, 10.0],
            ay: [-12.0, 260.0],
        };
        assert!(l.perturbed(0.0, 1.0, 1.0).near(&l, 1e-3));
        assert!((l.scale() - (250.0f32 * 260.0 + 120.0).sqrt() / 256.0).abs() < 1e-4);
    }

    #[test]
    fn a_periodic_pattern_gives_its_lattice() {
        // A random tile of 40×40 repeated along (60, 6) and (−6, 60): the
        // lattice found is that one.
        let (w, h) = (400, 400);
        let mut seed = 7u64;
        let mut tile = vec![0f32; 64 * 64];
        for v in &mut tile {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            *v = ((seed >> 33) % 17) as f32;
        }
        let (ax, ay) = ([60.0f32, 6.0], [-6.0f32, 60.0]);
        let det = ax[0] * ay[1] - ax[1] * ay[0];
        let y: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, yy) = ((i % w) as f32, (i / w) as f32);
                // Lattice coordinates of the pixel, wrapped to the tile.
                let u = (x * ay[1] - yy * ay[0]) / det;
                let v = (yy * ax[0] - x * ax[1]) / det;
                let (tu, tv) = (
                    (u.rem_euclid(1.0) * 64.0) as usize,
                    (v.rem_euclid(1.0) * 64.0) as usize,
                );
                100.0 + tile.get(tv * 64 + tu).copied().unwrap_or(0.0)
            })
            .collect();
        let found = candidates(&y, w, h, 4);
        let want = Lattice { ax, ay };
        assert!(found.iter().any(|l| l.near(&want, 0.5)), "{found:?}");
    }
}
