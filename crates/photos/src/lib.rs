//! Photos as the node keeps them: a photo comes in as bytes (an upload to the API or a page's form) and goes out
//! either refused, with why, or clean:
//!
//! - only JPEG and PNG are taken, known by their first bytes (not by a name or a declared type);
//! - at most `PHOTO_BYTES_MAX` bytes, and at most `PHOTO_PIXELS_MAX` pixels, checked from the header before any
//!   pixel is decoded (a small file claiming a huge image is refused without allocating it), at least
//!   `PHOTO_SIDE_MIN` pixels a side;
//! - decoded within a memory limit, turned upright by its EXIF orientation (which then goes with the rest),
//!   scaled down to at most `PHOTO_SIDE_MAX` pixels a side, and re-encoded as a baseline JPEG of 8-bit RGB, which
//!   carries no metadata at all: no EXIF (GPS, camera, time), no XMP, no ICC profile, no comment, no text chunk;
//! - named by the SHA-256 of the clean bytes ([`PhotoId`]), which a signed record carries, so the bytes can be
//!   checked wherever they are read ([`PhotoId::matches`]).
//!
//! Pure: bytes in, bytes out; where photos are kept and who may see them is for the callers.

use std::fmt;
use std::io::Cursor;

use hifazat_limits as limits;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// Why a photo was refused: each says what to do in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is empty")]
    Empty,
    #[error("the photo is {bytes} bytes; at most {max} are taken")]
    TooLarge { bytes: usize, max: usize },
    #[error("this is not a photo: a JPEG or PNG file is needed")]
    NotAnImage,
    #[error("{0} files are not taken: send a JPEG or PNG photo")]
    WrongType(&'static str),
    #[error("the photo could not be read ({0}): it may be damaged or cut short")]
    Undecodable(String),
    #[error("the photo is {width} × {height} pixels; at most {max} pixels are taken")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the photo is {width} × {height} pixels; at least {min} a side are needed")]
    TooSmall { width: u32, height: u32, min: u32 },
    #[error(
        "the photo takes {bytes} bytes even once cleaned, more than the {max} kept: send a smaller photo"
    )]
    TooDetailed { bytes: usize, max: usize },
}

impl PhotoError {
    /// The name of the rule broken, for a form's field error and for counting.
    pub fn rule(&self) -> &'static str {
        match self {
            PhotoError::Empty => "empty",
            PhotoError::TooLarge { .. } => "too_large",
            PhotoError::NotAnImage => "not_an_image",
            PhotoError::WrongType(_) => "wrong_type",
            PhotoError::Undecodable(_) => "undecodable",
            PhotoError::TooManyPixels { .. } => "too_many_pixels",
            PhotoError::TooSmall { .. } => "too_small",
            PhotoError::TooDetailed { .. } => "too_detailed",
        }
    }
}

/// A clean photo's name: the SHA-256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhotoId(pub [u8; 32]);

impl PhotoId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> PhotoId {
        PhotoId(Sha256::digest(bytes).into())
    }

    /// Whether `bytes` are the photo this id names.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        PhotoId::of(bytes) == *self
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::str::FromStr for PhotoId {
    type Err = String;

    fn from_str(s: &str) -> Result<PhotoId, String> {
        let bytes = hex::decode(s)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .filter(|_| s.bytes().all(|b| !b.is_ascii_uppercase()))
            .ok_or_else(|| "is a photo id: 64 lower-case hexadecimal digits".to_owned())?;
        Ok(PhotoId(bytes))
    }
}

impl fmt::Display for PhotoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PhotoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhotoId({})", &self.to_hex()[..16])
    }
}

/// A clean photo: JPEG bytes with no metadata, upright, its size and its id.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    pub bytes: Vec<u8>,
    pub id: PhotoId,
    pub width: u32,
    pub height: u32,
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Photo({:?}, {} × {}, {} bytes)",
            self.id,
            self.width,
            self.height,
            self.bytes.len()
        )
    }
}

/// The format the first bytes say, among those taken; or why not.
fn sniff(bytes: &[u8]) -> Result<ImageFormat, PhotoError> {
    const KNOWN: [(&[u8], &str); 6] = [
        (b"GIF8", "GIF"),
        (b"RIFF", "WebP"),
        (b"BM", "BMP"),
        (b"II*\0", "TIFF"),
        (b"MM\0*", "TIFF"),
        (b"%PDF", "PDF"),
    ];
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ImageFormat::Jpeg);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Ok(ImageFormat::Png);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Err(PhotoError::WrongType("HEIC or AVIF"));
    }
    match KNOWN.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        Some((_, name)) => Err(PhotoError::WrongType(name)),
        None => Err(PhotoError::NotAnImage),
    }
}

/// Checks, decodes and cleans an uploaded photo (module docs).
pub fn clean(bytes: &[u8]) -> Result<Photo, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > limits::PHOTO_BYTES_MAX {
        return Err(PhotoError::TooLarge {
            bytes: bytes.len(),
            max: limits::PHOTO_BYTES_MAX,
        });
    }
    let format = sniff(bytes)?;
    let undecodable = |e: image::ImageError| PhotoError::Undecodable(e.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decode_limits = Limits::default();
    decode_limits.max_alloc = Some(limits::PHOTO_DECODE_BYTES_MAX);
    reader.limits(decode_limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits::PHOTO_PIXELS_MAX {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            max: limits::PHOTO_PIXELS_MAX,
        });
    }
    if width.min(height) < limits::PHOTO_SIDE_MIN {
        return Err(PhotoError::TooSmall {
            width,
            height,
            min: limits::PHOTO_SIDE_MIN,
        });
    }
    // A damaged orientation tag is no reason to refuse the photo: it stays as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    let side = limits::PHOTO_SIDE_MAX;
    if image.width() > side || image.height() > side {
        image = image.resize(side, side, image::imageops::FilterType::Triangle);
    }
    let rgb = image.to_rgb8();
    let mut out = Vec::with_capacity(bytes.len().min(1 << 20));
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, limits::PHOTO_JPEG_QUALITY);
    rgb.write_with_encoder(encoder).map_err(undecodable)?;
    if out.len() > limits::PHOTO_STORED_BYTES_MAX {
        return Err(PhotoError::TooDetailed {
            bytes: out.len(),
            max: limits::PHOTO_STORED_BYTES_MAX,
        });
    }
    Ok(Photo {
        id: PhotoId::of(&out),
        width: rgb.width(),
        height: rgb.height(),
        bytes: out,
    })
}

/// The pixels of a clean photo (as [`clean`] wrote it), RGB row by row: what face matching reads, the same on every
/// node for the same bytes.
pub fn pixels(clean: &[u8]) -> Result<(u32, u32, Vec<u8>), PhotoError> {
    if clean.len() > limits::PHOTO_STORED_BYTES_MAX {
        return Err(PhotoError::TooDetailed {
            bytes: clean.len(),
            max: limits::PHOTO_STORED_BYTES_MAX,
        });
    }
    let undecodable = |e: image::ImageError| PhotoError::Undecodable(e.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(clean), ImageFormat::Jpeg);
    let mut decode_limits = Limits::default();
    decode_limits.max_alloc = Some(limits::PHOTO_DECODE_BYTES_MAX);
    decode_limits.max_image_width = Some(limits::PHOTO_SIDE_MAX);
    decode_limits.max_image_height = Some(limits::PHOTO_SIDE_MAX);
    reader.limits(decode_limits);
    let rgb = reader.decode().map_err(undecodable)?.to_rgb8();
    Ok((rgb.width(), rgb.height(), rgb.into_raw()))
}

pub mod piece;

#[cfg(test)]
mod tests;
