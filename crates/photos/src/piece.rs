//! An alert's photo as it travels: cut into pieces of at most `PHOTO_PIECE_BYTES`, each the payload of one entry
//! of the author's `photos` log (`docs/wire.md`, "Photos"), so it goes to every node through any peer, in bounded
//! pieces, signed, by the same catch-up as every log. A piece's payload:
//!
//! | size | field |
//! |---|---|
//! | 1 | version, `1` |
//! | 32 | the photo's id (SHA-256 of its clean bytes) |
//! | 4 | the photo's length in bytes, big-endian |
//! | 4 | where this piece starts in it, big-endian |
//! | rest | the piece's bytes (1 to `PHOTO_PIECE_BYTES`) |
//!
//! A photo read back from pieces is checked against its id before it is used ([`assemble`]).

use hifazat_limits as limits;

use crate::PhotoId;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 32 + 4 + 4;

/// One piece of a photo, read from an entry's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    pub photo: PhotoId,
    pub total: u32,
    pub offset: u32,
    pub bytes: &'a [u8],
}

/// Why a payload is not a piece.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PieceError {
    #[error("a photo piece of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("photo piece version {0} is not known")]
    Version(u8),
    #[error("a photo piece says the photo is {0} bytes, more than any photo kept")]
    Total(u32),
    #[error("a photo piece of {len} bytes at {offset} does not fit a photo of {total}")]
    Outside { offset: u32, len: usize, total: u32 },
    #[error("the pieces do not cover the photo: {0}")]
    Gap(String),
    #[error("the pieces make bytes whose hash is not the photo's id")]
    Hash,
}

/// The payloads that carry `bytes`, the photo `id`, in order.
pub fn cut(id: PhotoId, bytes: &[u8]) -> Vec<Vec<u8>> {
    assert!(
        !bytes.is_empty() && bytes.len() <= limits::PHOTO_STORED_BYTES_MAX,
        "a clean photo"
    );
    bytes
        .chunks(limits::PHOTO_PIECE_BYTES)
        .enumerate()
        .map(|(i, chunk)| {
            let mut p = Vec::with_capacity(HEADER + chunk.len());
            p.push(VERSION);
            p.extend_from_slice(&id.0);
            p.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            p.extend_from_slice(&((i * limits::PHOTO_PIECE_BYTES) as u32).to_be_bytes());
            p.extend_from_slice(chunk);
            p
        })
        .collect()
}

impl<'a> Piece<'a> {
    /// Reads a piece from an entry's payload.
    pub fn decode(payload: &'a [u8]) -> Result<Piece<'a>, PieceError> {
        if payload.len() <= HEADER {
            return Err(PieceError::Short(payload.len()));
        }
        if payload[0] != VERSION {
            return Err(PieceError::Version(payload[0]));
        }
        let photo = PhotoId(payload[1..33].try_into().expect("32"));
        let total = u32::from_be_bytes(payload[33..37].try_into().expect("4"));
        let offset = u32::from_be_bytes(payload[37..41].try_into().expect("4"));
        let bytes = &payload[HEADER..];
        if total as usize > limits::PHOTO_STORED_BYTES_MAX {
            return Err(PieceError::Total(total));
        }
        let fits = bytes.len() <= limits::PHOTO_PIECE_BYTES
            && (offset as usize).is_multiple_of(limits::PHOTO_PIECE_BYTES)
            && offset as usize + bytes.len() <= total as usize;
        if !fits {
            return Err(PieceError::Outside {
                offset,
                len: bytes.len(),
                total,
            });
        }
        Ok(Piece {
            photo,
            total,
            offset,
            bytes,
        })
    }
}

/// The photo `id` from its pieces (any order, repeats allowed), checked against its id.
pub fn assemble<'a>(
    id: PhotoId,
    pieces: impl IntoIterator<Item = Piece<'a>>,
) -> Result<Vec<u8>, PieceError> {
    let mut total = None;
    let mut parts: Vec<Option<&[u8]>> = Vec::new();
    for p in pieces {
        if p.photo != id {
            continue;
        }
        let n = (p.total as usize).div_ceil(limits::PHOTO_PIECE_BYTES);
        match total {
            None => {
                total = Some(p.total);
                parts = vec![None; n];
            }
            Some(t) if t != p.total => {
                return Err(PieceError::Gap(format!(
                    "pieces disagree on the length ({t} and {})",
                    p.total
                )));
            }
            Some(_) => {}
        }
        parts[p.offset as usize / limits::PHOTO_PIECE_BYTES] = Some(p.bytes);
    }
    let total = total.ok_or_else(|| PieceError::Gap("no piece".into()))?;
    let mut out = Vec::with_capacity(total as usize);
    for (i, part) in parts.iter().enumerate() {
        let part = part.ok_or_else(|| PieceError::Gap(format!("piece {i} is missing")))?;
        out.extend_from_slice(part);
    }
    if out.len() != total as usize {
        return Err(PieceError::Gap(format!(
            "{} bytes where {total} were announced",
            out.len()
        )));
    }
    if !id.matches(&out) {
        return Err(PieceError::Hash);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_cut_and_put_back_in_any_order() {
        let bytes: Vec<u8> = (0..150_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let id = PhotoId::of(&bytes);
        let payloads = cut(id, &bytes);
        assert_eq!(payloads.len(), 3);
        assert!(
            payloads
                .iter()
                .all(|p| p.len() <= HEADER + limits::PHOTO_PIECE_BYTES)
        );
        let mut pieces: Vec<Piece<'_>> =
            payloads.iter().map(|p| Piece::decode(p).unwrap()).collect();
        pieces.reverse();
        pieces.push(pieces[0]);
        assert_eq!(assemble(id, pieces.clone()), Ok(bytes.clone()));
        // A missing piece, a changed byte, a piece of another photo.
        assert!(matches!(
            assemble(id, pieces[1..3].to_vec()),
            Err(PieceError::Gap(_))
        ));
        let mut bad = payloads[1].clone();
        *bad.last_mut().unwrap() ^= 1;
        let mixed = [&payloads[0], &bad, &payloads[2]].map(|p| Piece::decode(p).unwrap());
        assert_eq!(assemble(id, mixed), Err(PieceError::Hash));
        let other = PhotoId::of(b"other");
        assert!(matches!(assemble(other, pieces), Err(PieceError::Gap(_))));
    }

    #[test]
    fn malformed_pieces_are_refused_with_why() {
        let bytes = vec![7u8; 100];
        let id = PhotoId::of(&bytes);
        let good = cut(id, &bytes).remove(0);
        assert_eq!(
            Piece::decode(&good[..HEADER]),
            Err(PieceError::Short(HEADER))
        );
        let mut v = good.clone();
        v[0] = 2;
        assert_eq!(Piece::decode(&v), Err(PieceError::Version(2)));
        let mut v = good.clone();
        v[33..37].copy_from_slice(&50u32.to_be_bytes());
        assert!(matches!(Piece::decode(&v), Err(PieceError::Outside { .. })));
        let mut v = good;
        v[33..37].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Piece::decode(&v), Err(PieceError::Total(u32::MAX)));
    }
}
