//! The conformance suite of [`Blobs`]: the behaviour every backend (disk today, an
//! object store later) must show, checked only through the trait so that it runs
//! unchanged on any of them. Compiled with the cargo feature `conformance`, which a
//! backend's tests enable:
//!
//! ```text
//! #[tokio::test]
//! async fn my_backend_conforms() {
//!     let store = MyBackend::open(/* an empty store */).await.unwrap();
//!     vault::conformance::run(&store).await;
//! }
//! ```
//!
//! [`run`] needs an empty store that nothing else uses while it runs; each case
//! leaves it empty again. [`check`] runs one case of [`CASES`], for a backend that
//! wants one test per case.

use std::fmt::Display;
use std::ops::Range;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::{BoxFuture, join_all};

use crate::error::VaultError;
use crate::objects::{BlobSink, Blobs};

/// What a case found: `Err` says what went wrong.
pub type Outcome = Result<(), String>;

/// One named case of the suite.
pub struct Case {
    /// The case's name, as in the failure report.
    pub name: &'static str,
    run: for<'a> fn(&'a dyn Blobs) -> BoxFuture<'a, Outcome>,
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        &[$(Case { name: stringify!($name), run: |store| Box::pin($name(store)) }),*]
    };
}

/// Every case, in the order [`run`] runs them.
pub const CASES: &[Case] = cases![
    write_commit_read,
    invisible_before_commit,
    abort_and_drop_leave_nothing,
    second_commit_refused,
    racing_commits_one_wins,
    remove_then_not_found,
    absent_ids_are_not_found,
    paged_listing,
    large_blob_round_trips,
    concurrent_writers,
    clean_partial_removes_interrupted_writes_only,
];

/// Runs every case on `store` (empty, and used by nothing else meanwhile), and panics
/// listing the cases that failed.
pub async fn run(store: &dyn Blobs) {
    let before = store.list_page(None, 1).await;
    assert!(
        matches!(&before, Ok(page) if page.is_empty()),
        "the blob conformance suite needs an empty store, listing gave {before:?}"
    );
    let mut failures = Vec::new();
    for case in CASES {
        if let Err(why) = check(store, case).await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} blob conformance cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// Runs one case on `store`, then removes every blob it left.
pub async fn check(store: &dyn Blobs, case: &Case) -> Outcome {
    let outcome = (case.run)(store).await;
    let wiped = wipe(store).await;
    outcome.and(wiped)
}

// ---- the cases

async fn write_commit_read(store: &dyn Blobs) -> Outcome {
    let data = pattern(1, 1000);
    put(store, id(1, 0), &data, &[1, 10, 100, 333])
        .await
        .ctx("commit")?;
    present(store, id(1, 0), &data, "after commit").await?;
    #[expect(clippy::reversed_empty_ranges, reason = "an inverted range is a case")]
    let inverted = 5..3;
    let table: [(Range<u64>, Option<Range<usize>>); 14] = [
        (0..1000, Some(0..1000)),
        (0..1, Some(0..1)),
        (999..1000, Some(999..1000)),
        (0..0, Some(0..0)),
        (500..500, Some(500..500)),
        (1000..1000, Some(1000..1000)),
        (123..877, Some(123..877)),
        (1..999, Some(1..999)),
        (999..1001, None),
        (0..1001, None),
        (1000..1001, None),
        (1001..1001, None),
        (inverted, None),
        (u64::MAX..u64::MAX, None),
    ];
    for (range, expected) in table {
        check_read(store, id(1, 0), range, expected.map(|r| &data[r])).await?;
    }
    put(store, id(1, 1), b"", &[1]).await.ctx("empty commit")?;
    present(store, id(1, 1), b"", "empty blob").await?;
    check_read(store, id(1, 1), 0..1, None).await?;
    let mut sink = store.create(id(1, 2)).await.ctx("create")?;
    sink.write(Bytes::new()).await.ctx("write nothing")?;
    sink.write(Bytes::from_static(b"x")).await.ctx("write")?;
    sink.write(Bytes::new()).await.ctx("write nothing")?;
    sink.commit().await.ctx("commit")?;
    present(store, id(1, 2), b"x", "with empty writes").await
}

async fn invisible_before_commit(store: &dyn Blobs) -> Outcome {
    let data = pattern(2, 70_000);
    let mut sink = store.create(id(2, 0)).await.ctx("create")?;
    absent(store, id(2, 0), "after create").await?;
    write_pieces(&mut *sink, &data, &[4097])
        .await
        .ctx("write")?;
    absent(store, id(2, 0), "after writes").await?;
    sink.commit().await.ctx("commit")?;
    present(store, id(2, 0), &data, "after commit").await
}

async fn abort_and_drop_leave_nothing(store: &dyn Blobs) -> Outcome {
    let data = pattern(3, 300_000);
    let mut aborted = store.create(id(3, 0)).await.ctx("create")?;
    write_pieces(&mut *aborted, &data, &[65_536])
        .await
        .ctx("write")?;
    aborted.abort().await.ctx("abort")?;
    absent(store, id(3, 0), "after abort").await?;
    let mut dropped = store.create(id(3, 1)).await.ctx("create")?;
    write_pieces(&mut *dropped, &data, &[65_536])
        .await
        .ctx("write")?;
    drop(dropped);
    absent(store, id(3, 1), "after drop").await?;
    let fresh = pattern(4, 10);
    for n in 0..2 {
        put(store, id(3, n), &fresh, &[3])
            .await
            .ctx("write the id again")?;
        present(store, id(3, n), &fresh, "written again").await?;
    }
    Ok(())
}

async fn second_commit_refused(store: &dyn Blobs) -> Outcome {
    let first = b"first";
    put(store, id(4, 0), first, &[2])
        .await
        .ctx("first commit")?;
    // A backend may refuse at create already; otherwise commit must.
    match store.create(id(4, 0)).await {
        Err(err) => expect_code(&err, "vault_blob_exists", "create over a blob")?,
        Ok(mut sink) => {
            write_pieces(&mut *sink, b"second, longer", &[4])
                .await
                .ctx("write")?;
            expect_err(sink.commit().await, "vault_blob_exists", "second commit")?;
        }
    }
    present(store, id(4, 0), first, "after the refused commit").await?;
    // Two sinks opened before either commits: the first commit wins.
    let mut early = store.create(id(4, 1)).await.ctx("create")?;
    let mut late = store.create(id(4, 1)).await.ctx("create")?;
    early
        .write(Bytes::from_static(b"early"))
        .await
        .ctx("write")?;
    late.write(Bytes::from_static(b"late!!"))
        .await
        .ctx("write")?;
    late.commit().await.ctx("first commit")?;
    expect_err(early.commit().await, "vault_blob_exists", "second commit")?;
    present(store, id(4, 1), b"late!!", "after two sinks").await
}

async fn racing_commits_one_wins(store: &dyn Blobs) -> Outcome {
    let contents: Vec<Vec<u8>> = (0..6).map(|n| pattern(50 + n, 1000 + n as usize)).collect();
    let mut sinks = Vec::new();
    for content in &contents {
        let mut sink = store.create(id(5, 0)).await.ctx("create")?;
        write_pieces(&mut *sink, content, &[999])
            .await
            .ctx("write")?;
        sinks.push(sink);
    }
    let results = join_all(sinks.into_iter().map(|sink| sink.commit())).await;
    let mut winners = Vec::new();
    for (n, result) in results.into_iter().enumerate() {
        match result {
            Ok(()) => winners.push(n),
            Err(err) => expect_code(&err, "vault_blob_exists", "a losing commit")?,
        }
    }
    let [winner] = winners[..] else {
        return Err(format!("{} of 6 racing commits succeeded", winners.len()));
    };
    present(store, id(5, 0), &contents[winner], "the winner's content").await
}

async fn remove_then_not_found(store: &dyn Blobs) -> Outcome {
    put(store, id(6, 0), b"gone soon", &[4])
        .await
        .ctx("commit")?;
    put(store, id(6, 1), b"stays", &[4]).await.ctx("commit")?;
    store.remove(id(6, 0)).await.ctx("remove")?;
    absent(store, id(6, 0), "after remove").await?;
    expect_err(
        store.remove(id(6, 0)).await,
        "vault_not_found",
        "remove again",
    )?;
    present(store, id(6, 1), b"stays", "the other blob").await
}

async fn absent_ids_are_not_found(store: &dyn Blobs) -> Outcome {
    put(store, id(7, 1), b"a neighbour", &[5])
        .await
        .ctx("commit")?;
    absent(store, id(7, 0), "never written").await?;
    expect_err(
        store.read(id(7, 0), 0..1).await.map(drop),
        "vault_not_found",
        "read of an absent id with a range past its end",
    )?;
    expect_err(store.remove(id(7, 0)).await, "vault_not_found", "remove")
}

async fn paged_listing(store: &dyn Blobs) -> Outcome {
    let mut ids: Vec<[u8; 16]> = (0..40).map(|n| id(8, n)).collect();
    // Neighbours in one shard, and the extremes.
    ids.extend([
        [0; 16],
        [0xFF; 16],
        with_last(id(8, 3), 1),
        with_last(id(8, 3), 2),
    ]);
    for &blob in &ids {
        put(store, blob, &blob, &[16]).await.ctx("commit")?;
    }
    ids.sort_unstable();
    for limit in [1, 2, 3, 7, 43, 44, 45, 1000, usize::MAX] {
        let listed = list_all(store, limit).await?;
        ensure(
            listed == ids,
            format!("paging by {limit} listed {listed:?}"),
        )?;
    }
    for after in [None, Some([0; 16]), Some(ids[5])] {
        let page = store.list_page(after, 0).await.ctx("limit 0")?;
        ensure(
            page.is_empty(),
            format!("limit 0 after {after:?} gave {page:?}"),
        )?;
    }
    let page = store.list_page(Some([0xFF; 16]), 10).await.ctx("list")?;
    ensure(page.is_empty(), format!("after the last id: {page:?}"))?;
    // After an id that is not stored: the ids greater than it.
    let between = with_last(ids[10], 0xFE);
    let page = store.list_page(Some(between), 3).await.ctx("list")?;
    let expected: Vec<_> = ids
        .iter()
        .filter(|&&i| i > between)
        .take(3)
        .copied()
        .collect();
    ensure(page == expected, format!("after an absent id: {page:?}"))
}

async fn large_blob_round_trips(store: &dyn Blobs) -> Outcome {
    let len = 5 * 1024 * 1024 + 3;
    let data = pattern(9, len);
    let pieces = [1, 4093, 65_537, 1_048_583, 7, 300_007];
    put(store, id(9, 0), &data, &pieces).await.ctx("commit")?;
    present(store, id(9, 0), &data, "large blob").await?;
    let end = len as u64;
    for range in [1_000_000..4_500_001, end - 1..end, 262_143..262_145] {
        let slice = &data[range.start as usize..range.end as usize];
        check_read(store, id(9, 0), range, Some(slice)).await?;
    }
    Ok(())
}

async fn concurrent_writers(store: &dyn Blobs) -> Outcome {
    let contents: Vec<Vec<u8>> = (0..8)
        .map(|n| pattern(100 + n, 40_000 * n as usize + 7))
        .collect();
    // Interleaved: every sink open at once, written round by round.
    let mut sinks = Vec::new();
    for n in 0..8 {
        sinks.push(store.create(id(10, n)).await.ctx("create")?);
    }
    let piece = 4099;
    let rounds = contents
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .div_ceil(piece);
    for round in 0..rounds {
        let writes = sinks.iter_mut().zip(&contents).map(|(sink, content)| {
            let start = (round * piece).min(content.len());
            let end = (start + piece).min(content.len());
            sink.write(Bytes::copy_from_slice(&content[start..end]))
        });
        first_error(join_all(writes).await).ctx("interleaved write")?;
    }
    let commits = sinks.into_iter().map(|sink| sink.commit());
    first_error(join_all(commits).await).ctx("concurrent commit")?;
    // Whole writes side by side.
    let puts = (0..8u32).map(|n| put(store, id(10, 100 + n), &contents[n as usize], &[8191]));
    first_error(join_all(puts).await).ctx("concurrent put")?;
    for (n, content) in (0u32..).zip(&contents) {
        present(store, id(10, n), content, "interleaved writer").await?;
        present(store, id(10, 100 + n), content, "concurrent put").await?;
    }
    Ok(())
}

async fn clean_partial_removes_interrupted_writes_only(store: &dyn Blobs) -> Outcome {
    let kept = pattern(11, 5000);
    put(store, id(11, 0), &kept, &[1000]).await.ctx("commit")?;
    // A crash: sinks that are neither committed, aborted nor dropped.
    for n in 1..3 {
        let mut sink = store.create(id(11, n)).await.ctx("create")?;
        write_pieces(&mut *sink, &pattern(12, 400_000), &[100_000])
            .await
            .ctx("write")?;
        std::mem::forget(sink);
    }
    store.clean_partial().await.ctx("clean_partial")?;
    present(store, id(11, 0), &kept, "committed before clean_partial").await?;
    for n in 1..3 {
        absent(store, id(11, n), "interrupted write").await?;
    }
    let again = store.clean_partial().await.ctx("clean_partial again")?;
    ensure(
        again == 0,
        format!("a second clean_partial removed {again}"),
    )?;
    put(store, id(11, 1), b"after", &[2])
        .await
        .ctx("write again")?;
    present(store, id(11, 1), b"after", "written after clean_partial").await
}

// ---- helpers

/// A blob id for case `case`, number `n`, its first byte spread over the shards.
fn id(case: u8, n: u32) -> [u8; 16] {
    let mut id = [0x5C; 16];
    id[0] = (n as u8)
        .wrapping_mul(37)
        .wrapping_add(case.wrapping_mul(11));
    id[1..5].copy_from_slice(&n.to_be_bytes());
    id[14] = case;
    id
}

fn with_last(mut id: [u8; 16], last: u8) -> [u8; 16] {
    id[15] = last;
    id
}

/// `len` reproducible bytes (xorshift64), different for each `seed`.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes `data` in pieces of the sizes in `pieces`, cycled.
async fn write_pieces(
    sink: &mut dyn BlobSink,
    data: &[u8],
    pieces: &[usize],
) -> Result<(), VaultError> {
    let mut rest = data;
    for &size in pieces.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at(size.clamp(1, rest.len()));
        sink.write(Bytes::copy_from_slice(head)).await?;
        rest = tail;
    }
    Ok(())
}

async fn put(
    store: &dyn Blobs,
    id: [u8; 16],
    data: &[u8],
    pieces: &[usize],
) -> Result<(), VaultError> {
    let mut sink = store.create(id).await?;
    write_pieces(&mut *sink, data, pieces).await?;
    sink.commit().await
}

async fn get(store: &dyn Blobs, id: [u8; 16], range: Range<u64>) -> Result<Vec<u8>, VaultError> {
    let mut stream = store.read(id, range).await?;
    let mut bytes = Vec::new();
    while let Some(piece) = stream.next().await {
        bytes.extend_from_slice(&piece?);
    }
    Ok(bytes)
}

/// Reads `range` of `id`: `expected` bytes, or `None` for `vault_blob_range`.
async fn check_read(
    store: &dyn Blobs,
    id: [u8; 16],
    range: Range<u64>,
    expected: Option<&[u8]>,
) -> Outcome {
    let what = format!("read {range:?}");
    let got = get(store, id, range).await;
    match expected {
        None => expect_err(got, "vault_blob_range", &what),
        Some(expected) => {
            let got = got.ctx(&what)?;
            ensure(got == expected, format!("{what}: wrong bytes"))
        }
    }
}

/// `id` is committed with `data`: by length, by a whole read and in the listing.
async fn present(store: &dyn Blobs, id: [u8; 16], data: &[u8], when: &str) -> Outcome {
    let len = store.len(id).await.ctx(format!("{when}: len"))?;
    ensure(
        len == data.len() as u64,
        format!("{when}: len {len}, expected {}", data.len()),
    )?;
    let got = get(store, id, 0..len).await.ctx(format!("{when}: read"))?;
    ensure(got == data, format!("{when}: wrong bytes"))?;
    let next = store
        .list_page(before(id), 1)
        .await
        .ctx(format!("{when}: list"))?;
    ensure(next == [id], format!("{when}: not listed"))
}

/// No blob `id`: `len` and `read` say not found, and the listing skips it.
async fn absent(store: &dyn Blobs, id: [u8; 16], when: &str) -> Outcome {
    expect_err(
        store.len(id).await,
        "vault_not_found",
        &format!("{when}: len"),
    )?;
    let read = store.read(id, 0..0).await.map(drop);
    expect_err(read, "vault_not_found", &format!("{when}: read"))?;
    let next = store
        .list_page(before(id), 1)
        .await
        .ctx(format!("{when}: list"))?;
    ensure(next != [id], format!("{when}: listed"))
}

/// The id just below `id`, to list from it (`None` for the smallest).
fn before(id: [u8; 16]) -> Option<[u8; 16]> {
    u128::from_be_bytes(id)
        .checked_sub(1)
        .map(u128::to_be_bytes)
}

/// Every id, paging by `limit` (not 0), checking each page's shape.
async fn list_all(store: &dyn Blobs, limit: usize) -> Result<Vec<[u8; 16]>, String> {
    let mut all: Vec<[u8; 16]> = Vec::new();
    loop {
        let after = all.last().copied();
        let page = store
            .list_page(after, limit)
            .await
            .ctx(format!("list by {limit} after {after:?}"))?;
        ensure(
            page.len() <= limit,
            format!("{} ids for limit {limit}", page.len()),
        )?;
        let ascending = page.windows(2).all(|pair| pair[0] < pair[1]);
        let after_ok = match (after, page.first()) {
            (Some(after), Some(&first)) => first > after,
            _ => true,
        };
        ensure(
            ascending && after_ok,
            format!("page by {limit} after {after:?} not ascending past it: {page:?}"),
        )?;
        let done = page.len() < limit;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// Removes every committed blob.
async fn wipe(store: &dyn Blobs) -> Outcome {
    loop {
        let page = store.list_page(None, 256).await.ctx("wipe: list")?;
        if page.is_empty() {
            return Ok(());
        }
        for id in page {
            store.remove(id).await.ctx("wipe: remove")?;
        }
    }
}

fn ensure(condition: bool, failure: String) -> Outcome {
    if condition { Ok(()) } else { Err(failure) }
}

fn expect_code(err: &VaultError, code: &str, what: &str) -> Outcome {
    ensure(
        err.code() == code,
        format!("{what}: {err} ({}), expected {code}", err.code()),
    )
}

fn expect_err<T>(result: Result<T, VaultError>, code: &str, what: &str) -> Outcome {
    match result {
        Ok(_) => Err(format!("{what}: succeeded, expected {code}")),
        Err(err) => expect_code(&err, code, what),
    }
}

fn first_error(results: Vec<Result<(), VaultError>>) -> Result<(), VaultError> {
    results.into_iter().collect()
}

/// Turns a vault error into a failure saying what was being done.
trait Context<T> {
    fn ctx(self, what: impl Display) -> Result<T, String>;
}

impl<T> Context<T> for Result<T, VaultError> {
    fn ctx(self, what: impl Display) -> Result<T, String> {
        self.map_err(|err| format!("{what}: {err} ({})", err.code()))
    }
}
