use image::{ImageEncoder, Rgb, RgbImage};

use super::*;

/// A test picture: a gradient, so a JPEG of it is not trivially small.
fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    })
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            picture(width, height).as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            picture(width, height).as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// An EXIF block (big-endian TIFF) with an orientation, a description naming a place, and a GPS position.
fn exif(orientation: u16) -> Vec<u8> {
    let mut t: Vec<u8> = b"MM\0*\0\0\0\x08".to_vec();
    let entry = |tag: u16, kind: u16, count: u32, value: u32| -> Vec<u8> {
        let mut e = tag.to_be_bytes().to_vec();
        e.extend(kind.to_be_bytes());
        e.extend(count.to_be_bytes());
        e.extend(value.to_be_bytes());
        e
    };
    // IFD0 at 8: three entries (2 + 3 × 12 + 4 = 42 bytes), then the description at 50, the GPS IFD at 70.
    let description = b"Home: 31.5497N 74.3436E\0";
    t.extend(3u16.to_be_bytes());
    t.extend(entry(0x010E, 2, description.len() as u32, 50));
    let mut orient = entry(0x0112, 3, 1, 0);
    orient[8..10].copy_from_slice(&orientation.to_be_bytes());
    t.extend(orient);
    t.extend(entry(0x8825, 4, 1, 74));
    t.extend(0u32.to_be_bytes());
    t.resize(50, 0);
    t.extend(description);
    t.resize(74, 0);
    // The GPS IFD: latitude 31° 32' 59.0" as three rationals at 92.
    t.extend(1u16.to_be_bytes());
    t.extend(entry(0x0002, 5, 3, 92));
    t.extend(0u32.to_be_bytes());
    t.resize(92, 0);
    for (n, d) in [(31u32, 1u32), (32, 1), (5900, 100)] {
        t.extend(n.to_be_bytes());
        t.extend(d.to_be_bytes());
    }
    let mut app1 = vec![0xFF, 0xE1];
    let body: Vec<u8> = [b"Exif\0\0".as_slice(), &t].concat();
    app1.extend(((body.len() + 2) as u16).to_be_bytes());
    app1.extend(body);
    app1
}

/// `jpeg` with `segment` put right after its start-of-image marker.
fn with_segment(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    [&jpeg[..2], segment, &jpeg[2..]].concat()
}

/// A PNG chunk with its length and CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend(kind);
    c.extend(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    c.extend(crc.finalize().to_be_bytes());
    c
}

#[test]
fn exif_with_a_position_is_gone_and_the_photo_is_turned_upright() {
    let original = with_segment(&jpeg(160, 120), &exif(6));
    assert!(original.windows(4).any(|w| w == b"Exif"));
    let clean = clean(&original).unwrap();
    // Orientation 6 is "turn 90° clockwise to view": the clean photo is stored upright.
    assert_eq!((clean.width, clean.height), (120, 160));
    for trace in [
        &b"Exif"[..],
        b"31.5497",
        b"74.3436",
        b"MM\0*",
        &5900u32.to_be_bytes(),
    ] {
        assert!(
            !clean.bytes.windows(trace.len()).any(|w| w == trace),
            "{:?} left in the clean photo",
            String::from_utf8_lossy(trace)
        );
    }
    assert!(clean.bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert_eq!(clean.id, PhotoId::of(&clean.bytes));
    assert!(clean.id.matches(&clean.bytes));
    let mut changed = clean.bytes.clone();
    changed[100] ^= 1;
    assert!(!clean.id.matches(&changed));
}

#[test]
fn png_text_chunks_and_comments_are_gone() {
    let plain = png(64, 64);
    // Chunks after IHDR (8-byte signature + 25-byte IHDR chunk).
    let text = chunk(b"tEXt", b"Comment\0found at the shelter in Saddar");
    let itxt = chunk(b"iTXt", b"Location\0\0\0\0\0Clifton Block 5");
    let with_text = [&plain[..33], &text, &itxt, &plain[33..]].concat();
    let clean = clean(&with_text).unwrap();
    for trace in [&b"Saddar"[..], b"Clifton", b"tEXt", b"iTXt"] {
        assert!(!clean.bytes.windows(trace.len()).any(|w| w == trace));
    }
    assert_eq!((clean.width, clean.height), (64, 64));
    // A JPEG comment segment goes too.
    let commented = with_segment(
        &jpeg(64, 64),
        &[&[0xFF, 0xFE, 0, 12][..], b"phone 0300"].concat(),
    );
    let clean = super::clean(&commented).unwrap();
    assert!(!clean.bytes.windows(10).any(|w| w == b"phone 0300"));
}

#[test]
fn large_photos_are_scaled_down_and_cleaning_is_deterministic() {
    let big = jpeg(2400, 1200);
    let clean = clean(&big).unwrap();
    assert_eq!(
        (clean.width, clean.height),
        (limits::PHOTO_SIDE_MAX, limits::PHOTO_SIDE_MAX / 2)
    );
    assert_eq!(
        super::clean(&big).unwrap().id,
        clean.id,
        "the same upload, the same photo"
    );
}

#[test]
fn anything_else_is_refused_with_why() {
    assert_eq!(clean(b""), Err(PhotoError::Empty));
    assert_eq!(clean(b"hello, this is text"), Err(PhotoError::NotAnImage));
    assert_eq!(
        clean(b"GIF89a\x01\x00\x01\x00"),
        Err(PhotoError::WrongType("GIF"))
    );
    assert_eq!(
        clean(b"RIFF\0\0\0\0WEBPVP8 "),
        Err(PhotoError::WrongType("WebP"))
    );
    assert_eq!(
        clean(b"\0\0\0\x18ftypheic\0\0\0\0"),
        Err(PhotoError::WrongType("HEIC or AVIF"))
    );
    let mut huge = vec![0xFF, 0xD8, 0xFF];
    huge.resize(limits::PHOTO_BYTES_MAX + 1, 0);
    assert_eq!(
        clean(&huge),
        Err(PhotoError::TooLarge {
            bytes: limits::PHOTO_BYTES_MAX + 1,
            max: limits::PHOTO_BYTES_MAX
        })
    );
    // Cut short: a JPEG's first 300 bytes.
    let cut = &jpeg(200, 200)[..300];
    assert!(
        matches!(clean(cut), Err(PhotoError::Undecodable(_))),
        "{:?}",
        clean(cut)
    );
    assert_eq!(
        clean(&jpeg(40, 30)),
        Err(PhotoError::TooSmall {
            width: 40,
            height: 30,
            min: limits::PHOTO_SIDE_MIN
        })
    );
    // A few hundred bytes claiming 50,000 × 50,000 pixels: refused from the header, nothing allocated.
    let mut bomb = png(64, 64);
    let mut ihdr = 50_000u32.to_be_bytes().to_vec();
    ihdr.extend(50_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let header = chunk(b"IHDR", &ihdr);
    bomb.splice(8..33, header);
    assert_eq!(
        clean(&bomb),
        Err(PhotoError::TooManyPixels {
            width: 50_000,
            height: 50_000,
            max: limits::PHOTO_PIXELS_MAX
        })
    );
    for e in [PhotoError::Empty, PhotoError::NotAnImage] {
        assert!(!e.rule().is_empty() && !e.to_string().is_empty());
    }
}

#[test]
fn ids_are_64_lower_case_hex_digits() {
    let id = PhotoId::of(b"x");
    let text = id.to_string();
    assert_eq!(text.len(), 64);
    assert_eq!(text.parse::<PhotoId>(), Ok(id));
    assert!(text.to_uppercase().parse::<PhotoId>().is_err());
    assert!("abc".parse::<PhotoId>().is_err());
}
