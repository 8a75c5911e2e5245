//! Mock mode's chart images: the archiver's [`ChartSource`] for the mock charts
//! (`https://example.com/charts/...png`), which generates a real PNG for each link instead of
//! downloading it, so `--mock` shows the archive path (store, archived links, serving) without
//! a network.

use std::io::Write;

use coach_plans_model::ImageKind;
use coach_plans_service::{BoxFuture, ChartSource, FetchFailure};

/// The links mock plans attach charts from.
pub const MOCK_CHART_PREFIX: &str = "https://example.com/charts/";

/// Generates the mock charts' images; any other link fails (mock mode downloads nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct MockChartSource;

impl ChartSource for MockChartSource {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
        sink: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<ImageKind, FetchFailure>> {
        Box::pin(async move {
            let Some(name) = url.strip_prefix(MOCK_CHART_PREFIX) else {
                return Err(FetchFailure::failed(
                    "mock mode downloads nothing: only mock charts are archived",
                ));
            };
            sink.write_all(&mock_png(name))
                .map_err(|e| FetchFailure::failed(format!("cannot write the chart: {e}")))?;
            Ok(ImageKind::Png)
        })
    }

    fn refresh<'a>(
        &'a self,
        _urls: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, FetchFailure>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Width and height of a mock chart, in pixels.
const SIDE: u32 = 32;

/// A valid `SIDE`×`SIDE` RGB PNG whose colours follow `name`: the same link always gives the
/// same image, different links different ones.
pub fn mock_png(name: &str) -> Vec<u8> {
    let seed = name.bytes().fold(0x811C_9DC5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let [r, g, b, _] = seed.to_le_bytes();
    // Rows: a filter byte (0, none) and SIDE pixels; a diagonal band like a trend line.
    let mut raw = Vec::with_capacity(((SIDE * 3 + 1) * SIDE) as usize);
    for y in 0..SIDE {
        raw.push(0);
        for x in 0..SIDE {
            let on_line = x.abs_diff(SIDE - 1 - y) <= 1;
            let pixel = if on_line { [255, 255, 255] } else { [r, g, b] };
            raw.extend_from_slice(&pixel);
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&SIDE.to_be_bytes());
    header.extend_from_slice(&SIDE.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Appends a PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// `data` as a zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(0xFFFF).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_adler_match_known_values() {
        // The IEND chunk's CRC every PNG ends with, and zlib's Adler-32 of "Wikipedia".
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        let stream = zlib_stored(b"Wikipedia");
        assert_eq!(&stream[stream.len() - 4..], &0x11E6_0398_u32.to_be_bytes());
    }

    #[test]
    fn a_mock_chart_is_a_png_that_depends_on_its_link_only() {
        let png = mock_png("d/2024-05-10/a.png");
        assert_eq!(ImageKind::from_signature(&png), Some(ImageKind::Png));
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));
        assert_eq!(png, mock_png("d/2024-05-10/a.png"));
        assert_ne!(png, mock_png("i/2024-05-10/a.png"));
    }

    #[tokio::test]
    async fn mock_links_are_generated_and_others_refused() {
        let mut sink = Vec::new();
        let kind = MockChartSource
            .fetch("https://example.com/charts/d/2024-05-10/a.png", &mut sink)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kind, ImageKind::Png);
        assert_eq!(sink, mock_png("d/2024-05-10/a.png"));
        let mut other = Vec::new();
        assert!(
            MockChartSource
                .fetch(
                    "https://cdn.discordapp.com/attachments/1/2/a.png",
                    &mut other
                )
                .await
                .is_err()
        );
        assert!(other.is_empty());
    }
}
