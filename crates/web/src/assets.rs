//! Files the pages load, compiled into the binary and served under a name that carries their content's hash, so
//! a browser may keep them for ever and still never holds a stale one.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One asset: its bytes, type and fingerprinted path.
#[derive(Debug)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    path: String,
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        let hash = hex::encode(&Sha256::digest(bytes)[..8]);
        Asset {
            bytes,
            content_type,
            path: format!("/assets/{stem}-{hash}.{extension}"),
        }
    }

    /// An asset whose name already says which version it is.
    fn named(path: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        Asset {
            bytes,
            content_type,
            path: path.to_owned(),
        }
    }

    /// Where the pages link it: `/assets/<stem>-<16 hex digits of its SHA-256>.<extension>`.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// The stylesheet of every page.
pub static STYLE: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "style",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/style.css"),
    )
});

/// The home page's one script: live updates of its list of alerts (the page works without it).
pub static LIVE: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "live",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/live.js"),
    )
});

/// The Urdu typeface, regular and bold (Arabic script only; `fonts/README.md` says where from). Their names carry
/// the font's version, so they too may be cached for ever; the stylesheet names them.
pub static NASTALIQ: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        Asset::named(
            "/assets/noto-nastaliq-urdu-arabic-400-5.3.0.woff2",
            "font/woff2",
            include_bytes!("../assets/fonts/noto-nastaliq-urdu-arabic-400-5.3.0.woff2"),
        ),
        Asset::named(
            "/assets/noto-nastaliq-urdu-arabic-700-5.3.0.woff2",
            "font/woff2",
            include_bytes!("../assets/fonts/noto-nastaliq-urdu-arabic-700-5.3.0.woff2"),
        ),
    ]
});

/// The asset at `path`, if it is one of ours under its current name.
pub fn by_path(path: &str) -> Option<&'static Asset> {
    [&*STYLE, &*LIVE]
        .into_iter()
        .chain(NASTALIQ.iter())
        .find(|a| a.path() == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_found_by_their_fingerprinted_path_only() {
        let path = STYLE.path();
        assert!(
            path.starts_with("/assets/style-") && path.ends_with(".css"),
            "{path}"
        );
        assert_eq!(
            by_path(path).map(|a| a.bytes.len()),
            Some(STYLE.bytes.len())
        );
        assert!(by_path("/assets/style.css").is_none());
        assert!(by_path("/assets/style-0000000000000000.css").is_none());
    }

    #[test]
    fn the_stylesheet_names_every_font_the_node_serves() {
        let css = std::str::from_utf8(STYLE.bytes).unwrap();
        for font in NASTALIQ.iter() {
            let name = font.path().strip_prefix("/assets/").unwrap();
            assert!(
                css.contains(&format!("url({name})")),
                "{name} is not in the stylesheet"
            );
            // A real woff2 file, not a pointer to one.
            assert_eq!(&font.bytes[..4], b"wOF2", "{name}");
            assert_eq!(
                by_path(font.path()).map(|a| a.content_type),
                Some("font/woff2")
            );
        }
    }
}
