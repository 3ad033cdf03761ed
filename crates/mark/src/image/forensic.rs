//! The forensic image mark: a keyed spread-spectrum pattern in the 8×8 block
//! DCT domain of the luminance, tiled over the image so that cropping and
//! scaling leave whole copies of it.
//!
//! Geometry (do not change: issued marks depend on it): the luminance is seen
//! on a grid of 2×2-pixel cells; a tile is 128×128 cells = 16×16 blocks of 8×8
//! cells. In every block, 12 mid-frequency DCT coefficients (zig-zag 3…14) are
//! slots: 3,072 per tile. The 80 payload bits (64-bit id + CRC-16) are coded
//! by a rate-1/3 convolutional code ([`crate::ecc`]) into 258 bits; a
//! key-derived permutation gives 8 slots to each coded bit (an 8-fold
//! repetition inside the convolutional code, soft-combined) and the remaining
//! 1,008 to a sync pattern; every slot has a key-derived ±1 chip. Embedding
//! adds the inverse DCT of `chip × (±1 per coded bit, +1 for sync)` to the
//! luminance (equally to R, G, B), scaled by a local-activity mask.
//!
//! Detection resamples the suspect to the cell grid at a candidate scale
//! (and half-cell phase), removes the host with a 3×3 mean-subtraction filter,
//! clips the residual to ±4 grey levels (a robust detector: edges and text
//! strokes would otherwise dominate), folds it modulo the tile, and finds the
//! tile's cyclic offset by FFT cross-correlation with the sync pattern (all
//! 16,384 offsets at once). The peak is scored as `z = peak / σ` with σ the
//! standard deviation over all offsets; the soft values of the coded bits
//! read at the peak go through the Viterbi decoder (at every grid whose peak
//! reaches [`THRESHOLD`], until one checks). The soft values of the grids
//! whose sync reached the threshold without their payload checking are also
//! pooled (weighted by their scores: the same coded bits seen through other
//! phases, extents, scales or lattices), and the pool is decoded each time a
//! grid joins it (from the second on). Because the DCT is orthonormal,
//! the coefficients read back from the aligned fold are the correlations with
//! each basis function, so the same fold decodes the bits.
//!
//! Scales, in order: 1 (the file as issued, cropped, recompressed); then the
//! [`ESTIMATES`] best scales estimated from the period of the tiled mark in
//! the suspect itself ([`scale`]: a screenshot at any zoom from about 0.4 to
//! 2), each also at ±0.2 % when its sync is found but its payload does not
//! check; then the fixed scales 0.5, 0.75, 2/3, 0.6 and 0.4 (common zoom steps,
//! for hosts whose own periodic structure hides the mark's period); then, for a copy
//! that was turned, stretched, sheared or photographed at an angle, the
//! lattice stage ([`lattice`]): the two vectors along which the tile repeats
//! in the copy are estimated from the 2-D autocorrelation of its residual
//! (rotation, scale, aspect and shear at once: any linear map; a perspective
//! is taken as its local affine map at the centre), and the copy is
//! resampled bilinearly at the centres of that lattice's cells (after a box
//! average of about a cell) and folded as above. The best [`LATTICES`]
//! lattices are tried (two threads, each taking every other one in rank
//! order), each over the whole copy (at most 1,024 cells, eight tiles, a
//! side about its centre) and over a central square of about two tiles a
//! side (where a perspective's local map holds), at both half-cell phases in
//! both directions; over the whole copy, the phases after the first only
//! when the first's sync reaches [`LATTICE_HINT`] (a half-cell off keeps
//! about four fifths of a mark's sync, and an unmarked fold rarely gets
//! there: most of an unmarked image's time went into those folds). A lattice
//! whose sync comes within reach ([`LATTICE_PROMISING`]) without its payload
//! checking is also tried turned by ±0.08° and stretched by ±0.15 %
//! ([`LATTICE_REFINE`]). Last, on
//! a page whose background is saturated (brightened paper: everything from
//! 232 up becomes 255 under × 1.1 and the mark there is gone), the ink alone
//! at scale 1: its pixels' offsets from the ink's own level carry the mark
//! without the strokes' edges. The embedding is unchanged: only the detector
//! looks further.
//!
//! False positives. Under the null hypothesis (unmarked image or wrong key)
//! each offset's normalised correlation is ≈ N(0, 1), so the chance that any
//! of the `n` offsets tried reaches z is at most `n · Q(z)`. With at most 352
//! grids (12 fixed, 48 estimated, 4 of ink; 288 of the lattice stage: 4
//! lattices × 2 extents × 4 phases × 9 for the lattice and its 8
//! refinements; a phase skipped for want of a hint only lowers the count,
//! which is kept as the bound) there are 5,767,168 offsets, and with [`THRESHOLD`] = 7.0
//! that is 5,767,168 × 1.28e-12 = 7.4e-6 per image from the sync test
//! alone; the payload must then also pass its CRC-16 (2^-16), by its own
//! bits or by the pool's it joins (two checks per grid that reaches the
//! threshold), for a bound of 2 × 7.4e-6 × 2^-16 = 2.3e-10 per image (the
//! bound reported with a reading is computed from the same count). The tests check the null distribution on unmarked images of
//! four kinds, on unmarked copies after every geometric attack and on wrong
//! keys; `bench/mark.sh` runs thousands more in release, and
//! `bench/robustness.sh` unmarked images turned by 5° and marked copies read
//! with a fresh key (docs/ROBUSTNESS.md).

mod lattice;
mod scale;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use rustfft::FftPlanner;
use rustfft::num_complex::Complex32;

use crate::ecc;
use crate::id::{PAYLOAD_BITS, decode_payload, payload_bits};
use crate::prng::KeyStream;
use crate::{MarkId, MarkKey};

const CELL: f32 = 2.0;
const TILE: usize = 128;
const TILE_BLOCKS: usize = TILE / 8;
const COEFS: [(usize, usize); 12] = [
    (2, 0),
    (1, 1),
    (0, 2),
    (0, 3),
    (1, 2),
    (2, 1),
    (3, 0),
    (4, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 4),
];
const SLOTS: usize = TILE_BLOCKS * TILE_BLOCKS * COEFS.len();
const CODED: usize = ecc::coded_len(PAYLOAD_BITS);
const BIT_SLOTS: usize = 8;
const SYNC: i16 = -1;
/// Fixed candidate scales of the suspect relative to the marked original
/// (the first is tried before the estimated ones, the others after).
const SCALES: [f32; 6] = [1.0, 0.5, 0.75, 2.0 / 3.0, 0.6, 0.4];
/// Estimated scales tried (after the scale of the file as issued).
const ESTIMATES: usize = 4;
/// Factors about an estimated scale tried when its sync is found but its payload does not check.
const REFINE: [f32; 2] = [0.998, 1.002];
/// Share of saturated pixels from which the ink of a page is also searched, and
/// how far from the ink's level a pixel still counts as ink.
const SATURATED_SHARE: f32 = 0.3;
const INK_SPREAD: f32 = 12.0;
/// Minimum sync score; see the module documentation for the false-positive bound.
pub const THRESHOLD: f32 = 7.0;
const RESIDUAL_CLIP: f32 = 4.0;
/// Lattices estimated from the copy's autocorrelation that are tried ([`lattice`]).
const LATTICES: usize = 4;
/// The lattice stage looks at the central part of the suspect at most this
/// many pixels on a side (time and memory bound).
const LATTICE_SIDE: usize = 2048;
/// Sync score of a lattice's grids from which the lattice is refined.
const LATTICE_PROMISING: f32 = 5.0;
/// Sync score of a lattice's first phase over the whole suspect from which
/// its other phases are tried there.
const LATTICE_HINT: f32 = 4.5;
/// Perturbations (degrees turned, stretch along the tile's x and y) tried
/// about a promising lattice whose payload does not check.
const LATTICE_REFINE: [(f32, f32, f32); 8] = [
    (0.08, 1.0, 1.0),
    (-0.08, 1.0, 1.0),
    (0.0, 1.0015, 1.0015),
    (0.0, 0.9985, 0.9985),
    (0.0, 1.0015, 1.0),
    (0.0, 0.9985, 1.0),
    (0.0, 1.0, 1.0015),
    (0.0, 1.0, 0.9985),
];
/// Parts of the suspect folded on a lattice's grid: all of it, and a central
/// square of [`CENTRE_TILES`] tiles a side (at least [`CENTRE_MIN`] pixels):
/// where the affine map estimated there holds for a perspective copy.
const EXTENTS: usize = 2;
const CENTRE_TILES: f32 = 2.2;
const CENTRE_MIN: f32 = 400.0;
/// Most cells a side of a lattice's fold (8 tiles), about the centre.
const FOLD_CELLS: f32 = 1024.0;

/// The key-derived layout: for each slot, its owner (a bit index or sync) and chip.
struct Layout {
    owner: Vec<i16>,
    chip: Vec<f32>,
}

fn layout(key: &MarkKey) -> Layout {
    let perm = KeyStream::new(key.bytes(), b"custody/mark/image/v1/slots").permutation(SLOTS);
    let mut owner = vec![SYNC; SLOTS];
    for (rank, &slot) in perm.iter().enumerate() {
        if rank < CODED * BIT_SLOTS
            && let Some(o) = owner.get_mut(slot)
        {
            *o = (rank / BIT_SLOTS) as i16;
        }
    }
    let mut chips = KeyStream::new(key.bytes(), b"custody/mark/image/v1/chips");
    let mut chip = Vec::with_capacity(SLOTS);
    let mut word = 0u64;
    for i in 0..SLOTS {
        if i % 64 == 0 {
            word = chips.next_u64();
        }
        chip.push(if (word >> (i % 64)) & 1 == 1 {
            1.0
        } else {
            -1.0
        });
    }
    Layout { owner, chip }
}

/// The orthonormal 8×8 DCT-II basis images of the used coefficients.
fn basis() -> Vec<[f32; 64]> {
    let c = |k: usize| if k == 0 { (1.0f32 / 8.0).sqrt() } else { 0.5 };
    COEFS
        .iter()
        .map(|&(u, v)| {
            let mut b = [0f32; 64];
            for (i, out) in b.iter_mut().enumerate() {
                let (y, x) = ((i / 8) as f32, (i % 8) as f32);
                *out = c(u)
                    * c(v)
                    * ((2.0 * y + 1.0) * u as f32 * std::f32::consts::PI / 16.0).cos()
                    * ((2.0 * x + 1.0) * v as f32 * std::f32::consts::PI / 16.0).cos();
            }
            b
        })
        .collect()
}

/// The spatial tile (TILE×TILE cells) for slot amplitudes `amp(owner)`, scaled to unit RMS.
fn tile(layout: &Layout, amp: impl Fn(i16) -> f32) -> Vec<f32> {
    let basis = basis();
    let mut t = vec![0f32; TILE * TILE];
    for (slot, (&owner, &chip)) in layout.owner.iter().zip(&layout.chip).enumerate() {
        let (block, k) = (slot / COEFS.len(), slot % COEFS.len());
        let (by, bx) = (block / TILE_BLOCKS, block % TILE_BLOCKS);
        let a = chip * amp(owner);
        let Some(b) = basis.get(k) else { continue };
        for (i, &bv) in b.iter().enumerate() {
            let (y, x) = (by * 8 + i / 8, bx * 8 + i % 8);
            if let Some(p) = t.get_mut(y * TILE + x) {
                *p += a * bv;
            }
        }
    }
    let rms = (t.iter().map(|v| v * v).sum::<f32>() / t.len() as f32)
        .sqrt()
        .max(1e-6);
    t.iter_mut().for_each(|v| *v /= rms);
    t
}

/// Luminance (BT.601) of interleaved 8-bit pixels with `channels` channels.
pub fn luma(px: &[u8], channels: usize) -> Vec<f32> {
    px.chunks_exact(channels).map(luma_of).collect()
}

/// The luminance of one pixel.
fn luma_of(p: &[u8]) -> f32 {
    match p {
        [r, g, b, ..] => 0.299 * f32::from(*r) + 0.587 * f32::from(*g) + 0.114 * f32::from(*b),
        [l, ..] => f32::from(*l),
        [] => 0.0,
    }
}

/// Adds the mark for `id` to interleaved pixels (`channels` = 3 or 4; alpha untouched).
pub fn embed(
    px: &mut [u8],
    w: usize,
    h: usize,
    channels: usize,
    key: &MarkKey,
    id: MarkId,
    strength: f32,
) {
    let bits = ecc::encode(&payload_bits(id));
    let layout = layout(key);
    let pattern = tile(&layout, |o| {
        let one = o == SYNC || bits.get(o as usize).copied().unwrap_or(false);
        if one { 1.0 } else { -1.0 }
    });
    // The luminance is read where it is needed, not kept as a plane: a
    // plane of f32 would cost more memory than the pixels themselves.
    let y = |i: usize| {
        px.get(i * channels..(i + 1) * channels)
            .map_or(0.0, luma_of)
    };
    let gain = activity_gain(y, w, h, strength);
    let gw = w.div_ceil(16);
    for yy in 0..h {
        let ty = (yy / 2) % TILE;
        for xx in 0..w {
            let tx = (xx / 2) % TILE;
            let g = gain
                .get((yy / 16) * gw + xx / 16)
                .copied()
                .unwrap_or(strength);
            let d = g * pattern.get(ty * TILE + tx).copied().unwrap_or(0.0);
            let base = (yy * w + xx) * channels;
            for c in 0..channels.min(3) {
                if let Some(v) = px.get_mut(base + c) {
                    *v = (f32::from(*v) + d).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
}

/// Per 16×16-pixel block: strength × clamp(σ / 8, 0.5, 1.6): busier blocks hide more.
fn activity_gain(y: impl Fn(usize) -> f32, w: usize, h: usize, strength: f32) -> Vec<f32> {
    let (gw, gh) = (w.div_ceil(16), h.div_ceil(16));
    let mut out = Vec::with_capacity(gw * gh);
    for by in 0..gh {
        for bx in 0..gw {
            let (mut s, mut s2, mut n) = (0f32, 0f32, 0f32);
            for yy in by * 16..((by + 1) * 16).min(h) {
                for xx in bx * 16..((bx + 1) * 16).min(w) {
                    let v = y(yy * w + xx);
                    s += v;
                    s2 += v * v;
                    n += 1.0;
                }
            }
            let var = (s2 / n.max(1.0) - (s / n.max(1.0)).powi(2)).max(0.0);
            out.push(strength * (var.sqrt() / 8.0).clamp(0.5, 1.6));
        }
    }
    out
}

/// The outcome of looking for a forensic mark.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageReading {
    /// The id, when the sync score reached [`THRESHOLD`] and the CRC-16 checked.
    pub mark_id: Option<MarkId>,
    /// The best sync score found (z, in standard deviations).
    pub score: f32,
    /// The scale of the suspect relative to the original at the best score.
    pub scale: f32,
    /// The 80 raw decoded bits at the best score (id, then CRC-16).
    pub bits: Vec<bool>,
    /// Upper bound on the chance of this reading on an unmarked image (when an id was read).
    pub false_positive_bound: f64,
}

impl ImageReading {
    /// Nothing found yet: no id, no sync.
    fn nothing() -> ImageReading {
        ImageReading {
            mark_id: None,
            score: f32::NEG_INFINITY,
            scale: 1.0,
            bits: vec![false; PAYLOAD_BITS],
            false_positive_bound: 1.0,
        }
    }
}

/// Looks for the mark of `key` in a luminance plane.
pub fn detect(y: &[f32], w: usize, h: usize, key: &MarkKey) -> ImageReading {
    let layout = layout(key);
    let sync = tile(&layout, |o| if o == SYNC { 1.0 } else { 0.0 });
    let mut planner = FftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(TILE);
    let inv = planner.plan_fft_inverse(TILE);
    let mut sync_f: Vec<Complex32> = sync.iter().map(|&v| Complex32::new(v, 0.0)).collect();
    fft2(&mut sync_f, fwd.as_ref());
    let mut search = Search {
        y,
        w,
        h,
        layout: &layout,
        sync_f: &sync_f,
        fwd: fwd.as_ref(),
        inv: inv.as_ref(),
        best: ImageReading::nothing(),
        scale_peak: f32::NEG_INFINITY,
        pooled: (Vec::new(), 0),
    };
    // The scale of the file as issued first, then the estimated scales, then
    // the other fixed ones, as if in that order: a read at an estimated scale
    // wins over one at a fixed scale. Estimating the scales takes about as
    // long as the fixed scales' search, so the two run side by side (a second
    // thread), and the estimated scales are shared out once known.
    let (first, rest) = SCALES.split_first().unwrap_or((&1.0, &[]));
    if search.scale(*first) {
        return search.best;
    }
    // Estimated scales not searched yet, with their rank; `None` until the
    // estimate is done. The estimating thread takes them from the front, this
    // one from the back once its fixed scales are done (if the estimate is
    // ready by then: it never waits for it).
    let pending: Mutex<Option<VecDeque<(usize, f32)>>> = Mutex::new(None);
    let take = |front: bool| {
        let mut queue = pending.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = queue.as_mut()?;
        if front {
            queue.pop_front()
        } else {
            queue.pop_back()
        }
    };
    // Searches estimated scales until one reads; its rank.
    let search_estimates = |near: &mut Search<'_>, front: bool| {
        while let Some((rank, s)) = take(front) {
            // The sync found but the payload not checking: the scales about it.
            if near.scale(s)
                || (near.scale_peak >= THRESHOLD && REFINE.iter().any(|f| near.scale(s * f)))
            {
                return Some(rank);
            }
        }
        None
    };
    let (estimated, fixed) = std::thread::scope(|scope| {
        let estimating = scope.spawn(|| {
            let found: VecDeque<(usize, f32)> = scale::candidates(y, w, h, ESTIMATES)
                .into_iter()
                .filter(|&s| !SCALES.iter().any(|&f| (s / f - 1.0).abs() < 0.002))
                .enumerate()
                .collect();
            *pending.lock().unwrap_or_else(PoisonError::into_inner) = Some(found);
            let mut near = search.fork();
            let read = search_estimates(&mut near, true);
            (read, near.best)
        });
        let mut fixed = search.fork();
        let fixed_read = rest.iter().any(|&s| fixed.scale(s));
        let mut helping = search.fork();
        let helped = if fixed_read {
            None
        } else {
            search_estimates(&mut helping, false)
        };
        // A panic of the estimating thread is the search's own: pass it on.
        let (read, near) = estimating
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let estimated = [(read, near), (helped, helping.best)];
        (estimated, (fixed_read, fixed.best))
    });
    // A read at an estimated scale first (the best ranked), then at a fixed one.
    let mut reads: Vec<(usize, &ImageReading)> = estimated
        .iter()
        .filter_map(|(rank, reading)| rank.map(|r| (r, reading)))
        .collect();
    reads.sort_by_key(|&(rank, _)| rank);
    if let Some(&(_, reading)) = reads.first() {
        return reading.clone();
    }
    let (fixed_read, fixed) = fixed;
    if fixed_read {
        return fixed;
    }
    // Nothing read: the strongest sync seen anywhere.
    for reading in estimated.into_iter().map(|(_, r)| r).chain([fixed]) {
        if reading.score > search.best.score {
            search.best = reading;
        }
    }
    // A turned, stretched or sheared copy: the lattice of its tiles estimated
    // from the copy itself, on the central part of it.
    let (plane, pw, ph) = scale::centre(y, w, h, LATTICE_SIDE);
    let mut geo = Search {
        y: &plane,
        w: pw,
        h: ph,
        best: std::mem::replace(&mut search.best, ImageReading::nothing()),
        ..search.fork()
    };
    let read = geo.lattices();
    search.best = geo.best;
    if read {
        return search.best;
    }
    // A page brightened until its paper saturated keeps the mark in its ink only.
    let Some(ink) = ink_plane(y) else {
        return search.best;
    };
    let mut on_ink = Search { y: &ink, ..search };
    on_ink.scale(1.0);
    on_ink.best
}

/// For a page whose background is saturated (a share of at least
/// [`SATURATED_SHARE`] of its pixels at 255) and that has ink: the ink
/// pixels' offsets from the ink's level (within [`INK_SPREAD`]), 0
/// elsewhere. Ink pixels have one level on such a page (the mark moves them
/// about it), so these offsets are the mark without the strokes' edges, which
/// would drown it in the ordinary residual.
fn ink_plane(y: &[f32]) -> Option<Vec<f32>> {
    let n = y.len().max(1) as f32;
    let saturated = y.iter().filter(|&&v| v >= 254.5).count() as f32;
    if saturated < SATURATED_SHARE * n {
        return None;
    }
    let mut hist = [0usize; 128];
    for &v in y {
        if let Some(b) = hist.get_mut(v.max(0.0) as usize) {
            *b += 1;
        }
    }
    if (hist.iter().sum::<usize>() as f32) < 0.005 * n {
        return None;
    }
    // The ink's level: the densest 9-grey-level window of the dark pixels.
    let level = (0..128)
        .max_by_key(|&i: &usize| hist.iter().skip(i.saturating_sub(4)).take(9).sum::<usize>())
        .unwrap_or(0) as f32;
    Some(
        y.iter()
            .map(|&v| {
                if (v - level).abs() <= INK_SPREAD {
                    v - level
                } else {
                    0.0
                }
            })
            .collect(),
    )
}

/// One detection: the suspect, the key's patterns, and the best reading so far.
struct Search<'a> {
    y: &'a [f32],
    w: usize,
    h: usize,
    layout: &'a Layout,
    sync_f: &'a [Complex32],
    fwd: &'a dyn rustfft::Fft<f32>,
    inv: &'a dyn rustfft::Fft<f32>,
    best: ImageReading,
    /// The highest sync score of the last [`Search::scale`].
    scale_peak: f32,
    /// The soft payload values of the grids whose sync reached
    /// [`THRESHOLD`] without their payload checking, each weighted by its
    /// score, summed; and how many.
    pooled: (Vec<f32>, usize),
}

impl<'a> Search<'a> {
    /// A search of the same image and key with nothing found yet.
    fn fork(&self) -> Search<'a> {
        Search {
            y: self.y,
            w: self.w,
            h: self.h,
            layout: self.layout,
            sync_f: self.sync_f,
            fwd: self.fwd,
            inv: self.inv,
            best: ImageReading::nothing(),
            scale_peak: f32::NEG_INFINITY,
            pooled: (Vec::new(), 0),
        }
    }

    /// Tries the grids of scale `s`; true once an id is read.
    fn scale(&mut self, s: f32) -> bool {
        self.scale_peak = f32::NEG_INFINITY;
        let phases = phases(s);
        let f = CELL * s;
        for &px in phases {
            let Some((rows, cw)) = resample_rows(self.y, self.w, f, px * f) else {
                continue;
            };
            for &py in phases {
                let Some(acc) = fold_rows(&rows, cw, self.h, f, py * f) else {
                    continue;
                };
                if self.grid(&acc, s) {
                    return true;
                }
            }
        }
        false
    }

    /// Tries the grids of the lattices estimated from the suspect; true once an id is read.
    fn lattices(&mut self) -> bool {
        let found = lattice::candidates(self.y, self.w, self.h, LATTICES);
        // Cells of about `f` pixels: the suspect averaged over a box of that
        // width first (once per width).
        let width = |lat: &lattice::Lattice| {
            let f = CELL * lat.scale();
            if f >= 1.5 { f.round() as usize } else { 1 }
        };
        let mut blurred: Vec<(usize, Vec<f32>)> = Vec::new();
        for lat in &found {
            let k = width(lat);
            if blurred.iter().all(|(bk, _)| *bk != k) {
                blurred.push((k, box_blur(self.y, self.w, self.h, k)));
            }
        }
        // The lattices shared out between two threads, each in order of
        // rank; a lattice ranked after one that has read is skipped, so the
        // reading kept is the best ranked's whatever the threads' timing.
        let first_read = AtomicUsize::new(usize::MAX);
        let try_lattice = |near: &mut Search<'_>, rank: usize| {
            let Some(lat) = found.get(rank) else {
                return;
            };
            let k = width(lat);
            let Some((_, src)) = blurred.iter().find(|(bk, _)| *bk == k) else {
                return;
            };
            if first_read.load(Ordering::Relaxed) > rank && near.lattice(src, lat) {
                first_read.fetch_min(rank, Ordering::Relaxed);
            }
        };
        let results = std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let mut near = self.fork();
                let mut read = Vec::new();
                for rank in (1..found.len()).step_by(2) {
                    try_lattice(&mut near, rank);
                    read.push((rank, near.best.clone()));
                }
                read
            });
            let mut near = self.fork();
            let mut read = Vec::new();
            for rank in (0..found.len()).step_by(2) {
                try_lattice(&mut near, rank);
                read.push((rank, near.best.clone()));
            }
            // A panic of the other thread is the search's own: pass it on.
            read.extend(
                other
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
            read
        });
        let first = first_read.into_inner();
        for (rank, reading) in results {
            if rank == first && reading.mark_id.is_some() {
                self.best = reading;
                return true;
            }
            if reading.mark_id.is_none() && reading.score > self.best.score {
                self.best = reading;
            }
        }
        false
    }

    /// Tries the grids of one lattice on `src` (the suspect, averaged): over
    /// the whole suspect, then over a central square of about two tiles a
    /// side (where a perspective copy's local affine map holds); true once an
    /// id is read.
    fn lattice(&mut self, src: &[f32], lat: &lattice::Lattice) -> bool {
        let (w, h) = (self.w as f32, self.h as f32);
        let half = (CENTRE_TILES * 128.0 * lat.scale()).max(CENTRE_MIN / 2.0);
        let (hx, hy) = (half.min(w / 2.0), half.min(h / 2.0));
        let centre = [w / 2.0 - hx, h / 2.0 - hy, w / 2.0 + hx, h / 2.0 + hy];
        // At most FOLD_CELLS cells a side: a lattice of a small scale on a
        // large image would otherwise resample millions of cells.
        let reach = FOLD_CELLS / 2.0 * CELL * lat.scale();
        let (rx, ry) = (reach.min(w / 2.0), reach.min(h / 2.0));
        let whole = [w / 2.0 - rx, h / 2.0 - ry, w / 2.0 + rx, h / 2.0 + ry];
        for (i, extent) in [whole, centre].into_iter().enumerate() {
            if i > 0 && hx >= rx - 8.0 && hy >= ry - 8.0 {
                break;
            }
            // Over the whole suspect the other phases only after a hint at
            // the first (the fold there is large and a half-cell off keeps
            // most of a mark's sync).
            let hinted = i == 0;
            self.scale_peak = f32::NEG_INFINITY;
            if self.affine(src, lat, extent, hinted) {
                return true;
            }
            if self.scale_peak >= LATTICE_PROMISING
                && LATTICE_REFINE
                    .iter()
                    .any(|&(d, sx, sy)| self.affine(src, &lat.perturbed(d, sx, sy), extent, false))
            {
                return true;
            }
        }
        false
    }

    /// Tries the grids of one lattice on `src` (the suspect, averaged) within
    /// `extent`; true once an id is read. When `hinted`, the phases after the
    /// first only if its sync reaches [`LATTICE_HINT`].
    fn affine(
        &mut self,
        src: &[f32],
        lat: &lattice::Lattice,
        extent: [f32; 4],
        hinted: bool,
    ) -> bool {
        let s = lat.scale();
        let phases = phases(s);
        for (n, (&px, &py)) in phases
            .iter()
            .flat_map(|px| phases.iter().map(move |py| (px, py)))
            .enumerate()
        {
            if hinted && n == 1 && self.scale_peak < LATTICE_HINT {
                return false;
            }
            let Some(acc) = fold_affine(src, self.w, self.h, lat, (px, py), extent) else {
                continue;
            };
            if self.grid(&acc, s) {
                return true;
            }
        }
        false
    }

    /// Scores one folded grid; true once an id is read.
    fn grid(&mut self, acc: &[f32], s: f32) -> bool {
        let mut a: Vec<Complex32> = acc.iter().map(|&v| Complex32::new(v, 0.0)).collect();
        fft2(&mut a, self.fwd);
        for (v, s) in a.iter_mut().zip(self.sync_f) {
            *v *= s.conj();
        }
        fft2(&mut a, self.inv);
        let (z, shift) = peak(&a);
        self.scale_peak = self.scale_peak.max(z);
        // Every grid that reaches the threshold is decoded (a weaker grid may
        // still read where the strongest did not); otherwise only a new best.
        if z <= self.best.score && z < THRESHOLD {
            return false;
        }
        let soft = decode(acc, shift, self.layout);
        let norm = soft.iter().map(|v| v.abs()).sum::<f32>() / soft.len() as f32;
        let soft: Vec<f32> = soft.iter().map(|v| v / norm.max(1e-12)).collect();
        let mut bits = ecc::decode(&soft, PAYLOAD_BITS);
        let mut mark_id = if z >= THRESHOLD {
            decode_payload(&bits)
        } else {
            None
        };
        // A grid whose sync is found but whose payload does not check: its
        // soft values pooled with those of the others so far (the same bits
        // seen through other phases, extents, scales or lattices), and the
        // pool decoded once there are two.
        if mark_id.is_none() && z >= THRESHOLD {
            let (sum, n) = &mut self.pooled;
            if sum.is_empty() {
                sum.resize(soft.len(), 0.0);
            }
            sum.iter_mut().zip(&soft).for_each(|(p, v)| *p += z * v);
            *n += 1;
            if *n >= 2 {
                let norm = sum.iter().map(|v| v.abs()).sum::<f32>() / sum.len().max(1) as f32;
                let pooled: Vec<f32> = sum.iter().map(|v| v / norm.max(1e-12)).collect();
                let pooled_bits = ecc::decode(&pooled, PAYLOAD_BITS);
                if let Some(id) = decode_payload(&pooled_bits) {
                    mark_id = Some(id);
                    bits = pooled_bits;
                }
            }
        }
        if mark_id.is_some() || z > self.best.score {
            self.best = ImageReading {
                mark_id,
                score: z,
                scale: s,
                bits,
                false_positive_bound: mark_id.map_or(1.0, |_| bound(z, offsets_tried())),
            };
        }
        mark_id.is_some()
    }
}

/// Half-cell phases tried at scale `s` (only where a cell spans 1.5 pixels or more).
fn phases(s: f32) -> &'static [f32] {
    if CELL * s >= 1.5 { &[0.0, 0.5] } else { &[0.0] }
}

/// How many (grid, offset) hypotheses a full search tests at most.
pub fn offsets_tried() -> usize {
    let fixed: usize = SCALES.iter().map(|&s| phases(s).len().pow(2)).sum();
    // An estimated scale is counted with both phases whatever it is; the ink
    // of a saturated page is searched at scale 1; an estimated lattice with
    // both phases, in both extents, each refined.
    let lattices = LATTICES * EXTENTS * 4 * (1 + LATTICE_REFINE.len());
    (fixed + ESTIMATES * 4 * (1 + REFINE.len()) + 4 + lattices) * TILE * TILE
}

/// The plane averaged over a `k`×`k` box about each pixel (a copy when `k` ≤ 1).
fn box_blur(y: &[f32], w: usize, h: usize, k: usize) -> Vec<f32> {
    if k <= 1 || w == 0 || h == 0 {
        return y.to_vec();
    }
    let (lo, hi) = (k / 2, k - k / 2);
    // Running sums along each row, then (row by row, so that memory is read
    // in order) sums of `k` rows; the box is cut at the borders.
    let mut rows = vec![0f32; w * h];
    let mut prefix = vec![0f32; w + 1];
    for (src, dst) in y.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        let mut run = 0.0;
        for (p, v) in prefix.iter_mut().skip(1).zip(src) {
            run += v;
            *p = run;
        }
        for (x, d) in dst.iter_mut().enumerate() {
            let (a, b) = (x.saturating_sub(lo), (x + hi).min(w));
            let sum = prefix.get(b).copied().unwrap_or(0.0) - prefix.get(a).copied().unwrap_or(0.0);
            *d = sum / (b - a).max(1) as f32;
        }
    }
    let mut out = vec![0f32; w * h];
    for (yy, dst) in out.chunks_exact_mut(w).enumerate() {
        let (a, b) = (yy.saturating_sub(lo), (yy + hi).min(h));
        for src in rows.get(a * w..b * w).unwrap_or_default().chunks_exact(w) {
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        }
        let inv = 1.0 / (b - a).max(1) as f32;
        dst.iter_mut().for_each(|d| *d *= inv);
    }
    out
}

/// Resamples the suspect (bilinearly) at the centres of the cells of the
/// grid that `lat` spans (128 cells per tile axis), shifted by `phase` cells,
/// over the pixels of `extent` (`[x0, y0, x1, y1]`); then the 3×3
/// mean-subtracted residual of the cells, clipped, folded modulo the tile.
fn fold_affine(
    y: &[f32],
    w: usize,
    h: usize,
    lat: &lattice::Lattice,
    phase: (f32, f32),
    extent: [f32; 4],
) -> Option<Vec<f32>> {
    let t = TILE as f32;
    let (bx, by) = (
        [lat.ax[0] / t, lat.ax[1] / t],
        [lat.ay[0] / t, lat.ay[1] / t],
    );
    let det = bx[0] * by[1] - bx[1] * by[0];
    if det.abs() < 0.05 || w < 2 || h < 2 {
        return None;
    }
    let [x0, y0, x1, y1] = extent;
    let o = [(x0 + x1) / 2.0, (y0 + y1) / 2.0];
    // Cell coordinates of the extent's corners, for the range of cells.
    let cell_of = |p: [f32; 2]| {
        let (dx, dy) = (p[0] - o[0], p[1] - o[1]);
        (
            (dx * by[1] - dy * by[0]) / det - phase.0,
            (dy * bx[0] - dx * bx[1]) / det - phase.1,
        )
    };
    let corners = [[x0, y0], [x1, y0], [x0, y1], [x1, y1]].map(cell_of);
    let lo_u = corners
        .iter()
        .map(|c| c.0)
        .fold(f32::INFINITY, f32::min)
        .floor();
    let hi_u = corners
        .iter()
        .map(|c| c.0)
        .fold(f32::NEG_INFINITY, f32::max)
        .ceil();
    let lo_v = corners
        .iter()
        .map(|c| c.1)
        .fold(f32::INFINITY, f32::min)
        .floor();
    let hi_v = corners
        .iter()
        .map(|c| c.1)
        .fold(f32::NEG_INFINITY, f32::max)
        .ceil();
    let (nu, nv) = ((hi_u - lo_u) as usize + 1, (hi_v - lo_v) as usize + 1);
    if nu < 16 || nv < 16 || nu.saturating_mul(nv) > 1 << 24 {
        return None;
    }
    let (xmax, ymax) = (x1.min(w as f32 - 1.0), y1.min(h as f32 - 1.0));
    let (xmin, ymin) = (x0.max(0.0), y0.max(0.0));
    // Cells outside the extent are NaN: every residual that touches one is dropped.
    let mut cells = vec![f32::NAN; nu * nv];
    for (j, row) in cells.chunks_exact_mut(nu).enumerate() {
        let v = lo_v + j as f32 + phase.1;
        let base = [o[0] + by[0] * v, o[1] + by[1] * v];
        for (i, c) in row.iter_mut().enumerate() {
            let u = lo_u + i as f32 + phase.0;
            let (px, py) = (base[0] + bx[0] * u, base[1] + bx[1] * u);
            if px < xmin || py < ymin || px >= xmax || py >= ymax {
                continue;
            }
            let (ix, iy) = (px as usize, py as usize);
            let (fx, fy) = (px - ix as f32, py - iy as f32);
            let at = iy * w + ix;
            let (Some(&[t0, t1]), Some(&[b0, b1])) = (
                y.get(at..at + 2)
                    .and_then(|s| <&[f32; 2]>::try_from(s).ok()),
                y.get(at + w..at + w + 2)
                    .and_then(|s| <&[f32; 2]>::try_from(s).ok()),
            ) else {
                continue;
            };
            let top = t0 * (1.0 - fx) + t1 * fx;
            let bottom = b0 * (1.0 - fx) + b1 * fx;
            *c = top * (1.0 - fy) + bottom * fy;
        }
    }
    let mut h3 = vec![f32::NAN; nu * nv];
    for (src, dst) in cells.chunks_exact(nu).zip(h3.chunks_exact_mut(nu)) {
        for (d, win) in dst.iter_mut().skip(1).zip(src.windows(3)) {
            *d = win.iter().sum();
        }
    }
    let (ou, ov) = (lo_u as i64, lo_v as i64);
    let mut acc = vec![0f32; TILE * TILE];
    for j in 1..nv - 1 {
        let (Some(up), Some(mid), Some(down), Some(centre)) = (
            h3.get((j - 1) * nu..j * nu),
            h3.get(j * nu..(j + 1) * nu),
            h3.get((j + 1) * nu..(j + 2) * nu),
            cells.get(j * nu..(j + 1) * nu),
        ) else {
            continue;
        };
        let ty = (ov + j as i64).rem_euclid(TILE as i64) as usize;
        let Some(tile_row) = acc.get_mut(ty * TILE..(ty + 1) * TILE) else {
            continue;
        };
        for (i, (((u, m), d), c)) in up.iter().zip(mid).zip(down).zip(centre).enumerate() {
            let r = c - (u + m + d) / 9.0;
            if !r.is_finite() {
                continue;
            }
            let tx = (ou + i as i64).rem_euclid(TILE as i64) as usize;
            if let Some(t) = tile_row.get_mut(tx) {
                *t += r.clamp(-RESIDUAL_CLIP, RESIDUAL_CLIP);
            }
        }
    }
    Some(acc)
}

/// `2 · n · Q(z) · 2^-16`: the chance that any of `n` null offsets reaches z
/// and bits pass the CRC (its own, or the pool's it joins: two checks).
fn bound(z: f32, n: usize) -> f64 {
    let q = 0.5 * erfc(f64::from(z) / std::f64::consts::SQRT_2);
    (2.0 * n as f64 * q / 65536.0).min(1.0)
}

/// erfc with fractional error below 1.2e-7 (Numerical Recipes' Chebyshev fit).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Source pixel spans `[a, b)` of `n` cells of `f` pixels starting at `o`, within `lim`.
fn spans(n: usize, f: f32, o: f32, lim: usize) -> Vec<(usize, usize)> {
    (0..n)
        .map(|i| {
            let a = ((o + i as f32 * f).floor() as usize).min(lim - 1);
            let b = ((o + (i + 1) as f32 * f).floor() as usize).clamp(a + 1, lim);
            (a, b)
        })
        .collect()
}

/// Horizontal half of the resampling to the cell grid (area average, `f`
/// pixels per cell from `ox`): every source row → `cw` column averages.
fn resample_rows(y: &[f32], w: usize, f: f32, ox: f32) -> Option<(Vec<f32>, usize)> {
    let cw = ((w as f32 - ox) / f).floor() as usize;
    if cw < 16 || w == 0 {
        return None;
    }
    let xs = spans(cw, f, ox, w);
    // Every span lies within a row (`spans` clamps to `w`): checked once here
    // so that the loop below indexes without a check per cell.
    if xs.iter().any(|&(a, b)| a >= b || b > w) {
        return None;
    }
    let mut rows = vec![0f32; (y.len() / w) * cw];
    for (src, dst) in y.chunks_exact(w).zip(rows.chunks_exact_mut(cw)) {
        for (d, &(a, b)) in dst.iter_mut().zip(&xs) {
            let cell = src.get(a..b).unwrap_or_default();
            *d = cell.iter().sum::<f32>() / (b - a) as f32;
        }
    }
    Some((rows, cw))
}

/// Vertical half of the resampling, then the 3×3 mean-subtracted residual,
/// clipped, folded modulo the tile.
fn fold_rows(rows: &[f32], cw: usize, h: usize, f: f32, oy: f32) -> Option<Vec<f32>> {
    let ch = ((h as f32 - oy) / f).floor() as usize;
    if ch < 16 {
        return None;
    }
    let mut cells = vec![0f32; ch * cw];
    for (dst, &(a, b)) in cells.chunks_exact_mut(cw).zip(&spans(ch, f, oy, h)) {
        for src in rows.get(a * cw..b * cw)?.chunks_exact(cw) {
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        }
        let inv = 1.0 / (b - a) as f32;
        dst.iter_mut().for_each(|d| *d *= inv);
    }
    // Horizontal 3-sums, then vertical: the 3×3 box sum of every inner cell.
    let mut h3 = vec![0f32; ch * cw];
    for (src, dst) in cells.chunks_exact(cw).zip(h3.chunks_exact_mut(cw)) {
        for (d, win) in dst.iter_mut().skip(1).zip(src.windows(3)) {
            *d = win.iter().sum();
        }
    }
    let mut acc = vec![0f32; TILE * TILE];
    for cy in 1..ch - 1 {
        let (up, mid, down) = (
            h3.get((cy - 1) * cw..cy * cw)?,
            h3.get(cy * cw..(cy + 1) * cw)?,
            h3.get((cy + 1) * cw..(cy + 2) * cw)?,
        );
        let centre = cells.get(cy * cw..(cy + 1) * cw)?;
        let tile_row = acc.get_mut((cy % TILE) * TILE..(cy % TILE + 1) * TILE)?;
        // The inner cells of the row, folded onto the tile's columns in runs
        // of at most TILE cells (cell cx lands on column cx % TILE).
        fn inner(v: &[f32], cw: usize) -> &[f32] {
            v.get(1..cw - 1).unwrap_or_default()
        }
        let mut cx = 1;
        let (up, mid, down, centre) = (
            inner(up, cw),
            inner(mid, cw),
            inner(down, cw),
            inner(centre, cw),
        );
        let mut at = 0;
        while at < centre.len() {
            let col = cx % TILE;
            let run = (TILE - col).min(centre.len() - at);
            let end = at + run;
            let cols = tile_row.get_mut(col..col + run)?;
            let rows = (
                up.get(at..end)?,
                mid.get(at..end)?,
                down.get(at..end)?,
                centre.get(at..end)?,
            );
            for ((((t, u), m), d), c) in cols
                .iter_mut()
                .zip(rows.0)
                .zip(rows.1)
                .zip(rows.2)
                .zip(rows.3)
            {
                let r = c - (u + m + d) / 9.0;
                *t += r.clamp(-RESIDUAL_CLIP, RESIDUAL_CLIP);
            }
            at = end;
            cx += run;
        }
    }
    Some(acc)
}

/// 2-D FFT in place of a TILE×TILE array (rows, then columns).
fn fft2(a: &mut [Complex32], fft: &dyn rustfft::Fft<f32>) {
    fft.process(a);
    let mut col = vec![Complex32::new(0.0, 0.0); TILE];
    for x in 0..TILE {
        for (yy, c) in col.iter_mut().enumerate() {
            *c = a.get(yy * TILE + x).copied().unwrap_or_default();
        }
        fft.process(&mut col);
        for (yy, c) in col.iter().enumerate() {
            if let Some(v) = a.get_mut(yy * TILE + x) {
                *v = *c;
            }
        }
    }
}

/// The highest correlation in standard deviations over all offsets, and its offset.
fn peak(c: &[Complex32]) -> (f32, (usize, usize)) {
    let n = c.len() as f32;
    let mean = c.iter().map(|v| v.re).sum::<f32>() / n;
    let var = c.iter().map(|v| (v.re - mean).powi(2)).sum::<f32>() / n;
    let (i, max) =
        c.iter()
            .enumerate()
            .map(|(i, v)| (i, v.re))
            .fold(
                (0, f32::NEG_INFINITY),
                |b, (i, v)| if v > b.1 { (i, v) } else { b },
            );
    ((max - mean) / var.sqrt().max(1e-12), (i % TILE, i / TILE))
}

/// Soft payload values: for each bit, Σ chip × DCT coefficient of the aligned fold.
fn decode(acc: &[f32], (dx, dy): (usize, usize), layout: &Layout) -> Vec<f32> {
    let basis = basis();
    let mut soft = vec![0f32; CODED];
    let mut block = [0f32; 64];
    for by in 0..TILE_BLOCKS {
        for bx in 0..TILE_BLOCKS {
            for (i, v) in block.iter_mut().enumerate() {
                let y = (by * 8 + i / 8 + dy) % TILE;
                let x = (bx * 8 + i % 8 + dx) % TILE;
                *v = acc.get(y * TILE + x).copied().unwrap_or(0.0);
            }
            for (k, b) in basis.iter().enumerate() {
                let slot = (by * TILE_BLOCKS + bx) * COEFS.len() + k;
                let (Some(&owner), Some(&chip)) = (layout.owner.get(slot), layout.chip.get(slot))
                else {
                    continue;
                };
                if owner == SYNC {
                    continue;
                }
                let coef: f32 = block.iter().zip(b).map(|(a, b)| a * b).sum();
                if let Some(s) = soft.get_mut(owner as usize) {
                    *s += chip * coef;
                }
            }
        }
    }
    soft
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_is_orthonormal() {
        let b = basis();
        for (i, x) in b.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                let dot: f32 = x.iter().zip(y).map(|(a, b)| a * b).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "{i} {j} {dot}");
            }
        }
    }

    #[test]
    fn layout_gives_each_bit_its_slots() {
        let l = layout(&MarkKey::new([3; 32]));
        for bit in 0..CODED as i16 {
            assert_eq!(l.owner.iter().filter(|&&o| o == bit).count(), BIT_SLOTS);
        }
        assert_eq!(
            l.owner.iter().filter(|&&o| o == SYNC).count(),
            SLOTS - CODED * BIT_SLOTS
        );
        assert_eq!(SLOTS - CODED * BIT_SLOTS, 1008);
    }

    #[test]
    fn search_size_matches_the_documented_bound() {
        // 64 grids of the scale search and 288 of the lattice stage.
        assert_eq!(offsets_tried(), 352 * 16_384);
        // Sync alone below 7.4 in a million; with two CRC-16 checks per
        // grid that reaches the threshold (its own bits, the pool's) 2.3e-10.
        assert!(bound(THRESHOLD, offsets_tried()) * 65536.0 / 2.0 < 7.4e-6);
        assert!(bound(THRESHOLD, offsets_tried()) < 2.3e-10);
    }

    #[test]
    fn box_blur_is_the_mean_over_the_box() {
        // A 7×5 ramp with a spike, against the mean over the box cut at the borders.
        let (w, h) = (7, 5);
        let y: Vec<f32> = (0..w * h)
            .map(|i| {
                if i == 17 {
                    90.0
                } else {
                    (i % w * 3 + i / w) as f32
                }
            })
            .collect();
        for k in [1, 2, 3, 4] {
            let got = box_blur(&y, w, h, k);
            let (lo, hi) = (k / 2, k - k / 2);
            for yy in 0..h {
                for x in 0..w {
                    let (mut s, mut n) = (0.0, 0.0);
                    for by in yy.saturating_sub(lo)..(yy + hi.max(1)).min(h) {
                        for bx in x.saturating_sub(lo)..(x + hi.max(1)).min(w) {
                            s += y[by * w + bx];
                            n += 1.0;
                        }
                    }
                    let want = if k == 1 { y[yy * w + x] } else { s / n };
                    assert!((got[yy * w + x] - want).abs() < 1e-4, "k {k} at {x},{yy}");
                }
            }
        }
    }

    #[test]
    fn erfc_known_values() {
        // Reference values of erfc from tables.
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 0.157_299_207),
            (3.0, 2.209_049_7e-5),
            (-1.0, 1.842_700_79),
        ] {
            assert!((erfc(x) - want).abs() <= 2e-7 * want.max(1e-3), "{x}");
        }
    }
}
