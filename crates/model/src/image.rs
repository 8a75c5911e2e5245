//! What an archived chart is: the SHA-256 naming its bytes and the image type they really are.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The SHA-256 of a chart's bytes: the name of its blob in the chart store.
///
/// Written as 64 lowercase hexadecimal characters, in file names, URLs and JSON. Only that
/// spelling parses: uppercase is refused rather than normalised, so every blob has exactly one
/// name (one file, one URL, one cache entry).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

/// Why a text is not a SHA-256 in lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a SHA-256: expected 64 lowercase hex characters (0-9, a-f), {problem}")]
pub struct InvalidSha256 {
    /// The text given (shortened when long).
    pub input: String,
    /// What is wrong with it.
    pub problem: String,
}

impl Sha256 {
    /// The hash whose 32 bytes these are (as a hasher gives them).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 lowercase hex characters; anything else (empty, shorter, longer, uppercase,
    /// other characters) is refused with the reason.
    pub fn parse(input: &str) -> Result<Self, InvalidSha256> {
        let invalid = |problem: String| InvalidSha256 {
            input: crate::truncate_for_display(input),
            problem,
        };
        let chars = input.chars().count();
        if chars != 64 {
            return Err(invalid(format!("got {chars} characters")));
        }
        if !input.is_ascii() {
            return Err(invalid("found other characters".to_owned()));
        }
        let mut bytes = [0u8; 32];
        for (i, pair) in input.as_bytes().chunks_exact(2).enumerate() {
            let (Some(high), Some(low)) = (nibble(pair[0]), nibble(pair[1])) else {
                let bad = pair
                    .iter()
                    .find(|b| nibble(**b).is_none())
                    .copied()
                    .unwrap_or_default();
                let what = if bad.is_ascii_uppercase() {
                    "uppercase letters are not accepted".to_owned()
                } else {
                    "found other characters".to_owned()
                };
                return Err(invalid(what));
            };
            bytes[i] = (high << 4) | low;
        }
        Ok(Self(bytes))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The value of a lowercase hex digit.
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl FromStr for Sha256 {
    type Err = InvalidSha256;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The image types a chart may be, as judged by the bytes themselves (their signature), never
/// by the name or the type a sender claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// GIF (87a or 89a).
    Gif,
    /// WebP (a RIFF container).
    Webp,
}

impl ImageKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Self; 4] = [Self::Png, Self::Jpeg, Self::Gif, Self::Webp];

    /// The kind the first bytes of a file announce, or `None` when they are none of ours.
    /// PNG `89 50 4E 47 0D 0A 1A 0A`; JPEG `FF D8 FF`; GIF `GIF87a` or `GIF89a`; WebP `RIFF`,
    /// four bytes of length, `WEBP`.
    pub fn from_signature(bytes: &[u8]) -> Option<Self> {
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        if bytes.starts_with(PNG) {
            Some(Self::Png)
        } else if bytes.starts_with(b"\xff\xd8\xff") {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
            Some(Self::Webp)
        } else {
            None
        }
    }

    /// The MIME type to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }

    /// The file extension it is served under, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    /// The kind an extension (without the dot, any case) names: `png`, `jpg` or `jpeg`, `gif`,
    /// `webp`.
    pub fn from_extension(extension: &str) -> Option<Self> {
        let known = [
            ("png", Self::Png),
            ("jpg", Self::Jpeg),
            ("jpeg", Self::Jpeg),
            ("gif", Self::Gif),
            ("webp", Self::Webp),
        ];
        known
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(extension))
            .map(|(_, kind)| kind)
    }

    /// The name stored and shown: `png`, `jpeg`, `gif`, `webp` (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    /// The kind [`as_str`](Self::as_str) names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn a_sha256_reads_and_writes_as_lowercase_hex() {
        let sha = Sha256::parse(EMPTY_SHA).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sha.to_string(), EMPTY_SHA);
        assert_eq!(sha.as_bytes()[0], 0xe3);
        assert_eq!(Sha256::from_bytes(*sha.as_bytes()), sha);
        let json = serde_json::to_string(&sha).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json, format!("\"{EMPTY_SHA}\""));
        let back: Sha256 = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, sha);
    }

    #[test]
    fn anything_but_64_lowercase_hex_characters_is_refused() {
        let upper = EMPTY_SHA.to_uppercase();
        let non_ascii = format!("{}é", &EMPTY_SHA[..62]);
        let with_g = format!("{}g", &EMPTY_SHA[..63]);
        for bad in [
            "",
            "abc",
            &EMPTY_SHA[..63],
            &format!("{EMPTY_SHA}0"),
            &upper,
            &with_g,
            &non_ascii,
            &format!(" {}", &EMPTY_SHA[..63]),
        ] {
            assert!(Sha256::parse(bad).is_err(), "{bad:?}");
        }
        let error = Sha256::parse(&upper).err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("uppercase")));
        let accented = format!("{}é", &EMPTY_SHA[..63]);
        let error = Sha256::parse(&accented).err().map(|e| e.to_string());
        assert!(
            error.is_some_and(|e| e.contains("other characters")),
            "64 characters, 65 bytes"
        );
        assert!(serde_json::from_str::<Sha256>("\"abc\"").is_err());
    }

    #[test]
    fn image_kinds_are_told_by_their_signatures() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF";
        let webp = b"RIFF\x24\0\0\0WEBPVP8 ";
        assert_eq!(ImageKind::from_signature(png), Some(ImageKind::Png));
        assert_eq!(ImageKind::from_signature(jpeg), Some(ImageKind::Jpeg));
        assert_eq!(ImageKind::from_signature(b"GIF87a.."), Some(ImageKind::Gif));
        assert_eq!(ImageKind::from_signature(b"GIF89a"), Some(ImageKind::Gif));
        assert_eq!(ImageKind::from_signature(webp), Some(ImageKind::Webp));
    }

    #[test]
    fn near_misses_are_not_images() {
        for bytes in [
            b"".as_slice(),
            b"\x89PNG\r\n\x1a",     // one byte short
            b"\x89PNG\n\r\x1a\n",   // line endings swapped (a text-mode transfer)
            b"\xff\xd8",            // JPEG cut short
            b"GIF88a",              // no such GIF version
            b"gif89a",              // case matters
            b"RIFF\x24\0\0\0WAVE",  // a RIFF that is audio
            b"RIFF\x24\0\0\0WEB",   // too short to say
            b"<html>not found</ht", // what an expired link answers
            b"%PDF-1.7",
        ] {
            assert_eq!(ImageKind::from_signature(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn image_kinds_name_their_type_and_extension() {
        let table: Vec<_> = ImageKind::ALL
            .iter()
            .map(|k| (k.content_type(), k.extension(), k.as_str()))
            .collect();
        assert_eq!(
            table,
            [
                ("image/png", "png", "png"),
                ("image/jpeg", "jpg", "jpeg"),
                ("image/gif", "gif", "gif"),
                ("image/webp", "webp", "webp"),
            ]
        );
        for kind in ImageKind::ALL {
            assert_eq!(ImageKind::from_extension(kind.extension()), Some(kind));
            assert_eq!(ImageKind::from_name(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(ImageKind::from_extension("JPEG"), Some(ImageKind::Jpeg));
        assert_eq!(ImageKind::from_extension(".png"), None);
        assert_eq!(ImageKind::from_extension("bmp"), None);
        assert_eq!(ImageKind::from_extension(""), None);
    }
}
