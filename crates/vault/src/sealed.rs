//! Reading sealed blobs (docs/vault-format.md §2–3) through a [`Blobs`] store: the
//! header, checked with the blob's length against the plaintext length the reader
//! recorded; then the chunks a plaintext range needs, a window of whole chunks per
//! read, each opened in place in the buffer the store filled, so that a chunk costs
//! no copy beyond the store's own read.

use std::ops::{Range, RangeInclusive};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::VaultError;
use crate::format::{HEADER_LEN, Header, Layout, TAG_LEN};
use crate::objects::{Blobs, ByteStream};
use crate::stream::ChunkCipher;

/// The sealed bytes a window of [`windows`] holds at most, unless one chunk is larger:
/// reads of about this size keep memory bounded and make few trips to the store.
pub const WINDOW: usize = 1 << 20;

/// Reads and decodes the header of blob `id`. `vault_blob_range` if the blob is
/// shorter than a header.
pub async fn read_header(blobs: &dyn Blobs, id: [u8; 16]) -> Result<Header, VaultError> {
    let bytes = gather(blobs.read(id, 0..HEADER_LEN as u64).await?, HEADER_LEN).await?;
    Header::decode(&bytes)
}

/// Opens blob `id` for reading its chunks: its length and header, checked against the
/// plaintext length the reader recorded for it. `vault_integrity` (of the last chunk)
/// if the header names another blob or the blob's length is not the layout's (a
/// truncated or extended blob); `vault_bad_header` for a header this version cannot
/// read; `vault_not_found` if there is no such blob.
pub async fn open(
    blobs: &dyn Blobs,
    id: [u8; 16],
    plaintext_len: u64,
) -> Result<(Header, Layout), VaultError> {
    let len = blobs.len(id).await?;
    let header = read_header(blobs, id).await?;
    let layout = Layout::from_header(&header, plaintext_len);
    if header.blob_id != id || len != layout.ciphertext_len() {
        return Err(VaultError::Integrity {
            chunk: layout.chunk_count() - 1,
        });
    }
    Ok((header, layout))
}

/// Cuts `chunks` into windows of consecutive whole chunks, each at most [`WINDOW`]
/// sealed bytes or a single chunk, in order.
pub fn windows(
    layout: &Layout,
    chunks: RangeInclusive<u64>,
) -> impl Iterator<Item = RangeInclusive<u64>> + use<> {
    let stride = u64::from(layout.chunk_size) + TAG_LEN as u64;
    let per_window = (WINDOW as u64 / stride).max(1);
    let (mut next, last) = chunks.into_inner();
    let mut done = next > last;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let start = next;
        let end = start.saturating_add(per_window - 1).min(last);
        done = end == last;
        next = end.saturating_add(1);
        Some(start..=end)
    })
}

/// Reads chunks `chunks` (consecutive, whole) of blob `id`, which has `layout`, for
/// opening with [`SealedChunks::open_next`]. One read of the store: its buffer is
/// taken as is when the range comes in one piece (a `DiskBlobs` yields up to the
/// largest chunk in one), and the pieces gathered into one buffer otherwise.
/// `vault_chunk_index` if a chunk is past the end.
pub async fn read_chunks(
    blobs: &dyn Blobs,
    id: [u8; 16],
    layout: &Layout,
    chunks: RangeInclusive<u64>,
) -> Result<SealedChunks, VaultError> {
    let (first, last) = chunks.into_inner();
    let count = layout.chunk_count();
    if last >= count {
        return Err(VaultError::ChunkIndex { chunk: last, count });
    }
    if first > last {
        return Ok(SealedChunks {
            bytes: BytesMut::new(),
            layout: *layout,
            next: first,
            end: first,
        });
    }
    let range = sealed_range(layout, first..last + 1);
    let len = usize::try_from(range.end - range.start).map_err(std::io::Error::other)?;
    let bytes = gather(blobs.read(id, range).await?, len).await?;
    Ok(SealedChunks {
        bytes,
        layout: *layout,
        next: first,
        end: last + 1,
    })
}

/// The byte range of the blob that holds chunks `chunks` with their tags.
fn sealed_range(layout: &Layout, chunks: Range<u64>) -> Range<u64> {
    let last = chunks.end.saturating_sub(1);
    let end = layout.chunk_offset(last) + layout.chunk_ciphertext_len(last) as u64;
    layout.chunk_offset(chunks.start)..end
}

/// Sealed chunks read by [`read_chunks`], opened one by one in place.
#[derive(Debug)]
pub struct SealedChunks {
    /// The sealed bytes of chunks `next..end`.
    bytes: BytesMut,
    layout: Layout,
    next: u64,
    end: u64,
}

impl SealedChunks {
    /// Opens the next chunk in place and returns its index and plaintext (a view of
    /// the buffer read, shared with the other chunks of the window); `None` after the
    /// last chunk or an error.
    pub fn open_next(&mut self, cipher: &ChunkCipher) -> Option<Result<(u64, Bytes), VaultError>> {
        if self.next >= self.end {
            return None;
        }
        let index = self.next;
        let len = self.layout.chunk_ciphertext_len(index);
        let mut sealed = if len == self.bytes.len() {
            std::mem::take(&mut self.bytes)
        } else if len < self.bytes.len() {
            self.bytes.split_to(len)
        } else {
            // The store gave fewer bytes than the range read (gather refuses that).
            self.next = self.end;
            return Some(Err(VaultError::Integrity { chunk: index }));
        };
        let opened = cipher.open_chunk_in_place(index, self.layout.is_last(index), &mut sealed);
        self.next = if opened.is_ok() { index + 1 } else { self.end };
        Some(opened.map(|()| (index, sealed.freeze())))
    }
}

/// The `len` bytes of `stream` in one buffer: its one piece when it comes whole and
/// unshared, else the pieces copied into one. An i/o error if the stream ends short or
/// runs long.
async fn gather(mut stream: ByteStream, len: usize) -> Result<BytesMut, VaultError> {
    let mut buf = BytesMut::new();
    while let Some(piece) = stream.next().await {
        let piece = piece?;
        if buf.is_empty() && piece.len() == len {
            buf = piece
                .try_into_mut()
                .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        } else {
            if buf.len() + piece.len() > len {
                return Err(short_or_long(len));
            }
            buf.reserve(len - buf.len());
            buf.extend_from_slice(&piece);
        }
    }
    if buf.len() == len {
        Ok(buf)
    } else {
        Err(short_or_long(len))
    }
}

fn short_or_long(len: usize) -> VaultError {
    VaultError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        format!("the blob store did not give the {len} bytes read"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(chunk_size: u32, chunks: RangeInclusive<u64>, expected: &[RangeInclusive<u64>]) {
        let layout = Layout {
            chunk_size,
            plaintext_len: u64::MAX,
        };
        let got: Vec<_> = windows(&layout, chunks.clone()).collect();
        assert_eq!(got, expected, "{chunks:?} of {chunk_size}-byte chunks");
    }

    #[test]
    fn windows_of_whole_chunks() {
        #[expect(clippy::reversed_empty_ranges, reason = "an empty range is a case")]
        let empty = 3..=2;
        let max = u64::MAX;
        check(1 << 20, 0..=2, &[0..=0, 1..=1, 2..=2]);
        check(1 << 24, 7..=8, &[7..=7, 8..=8]);
        check(1 << 19, 0..=1, &[0..=0, 1..=1]);
        check(1 << 18, 0..=9, &[0..=2, 3..=5, 6..=8, 9..=9]);
        check(4096, 0..=600, &[0..=254, 255..=509, 510..=600]);
        check(4096, 5..=5, &[5..=5]);
        check(4096, empty, &[]);
        check(4096, max - 1..=max, &[max - 1..=max]);
    }
}
