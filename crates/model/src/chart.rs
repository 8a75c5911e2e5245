//! Chart screenshots attached to plans.

use serde::{Deserialize, Serialize};

use crate::display::is_bidi_control;
use crate::truncate_for_display;

/// The longest chart URL accepted, in bytes. Discord's signed CDN URLs are about 250.
pub const MAX_CHART_URL_LEN: usize = 2048;

/// The longest file name an attached chart may have, in characters (what file systems allow).
pub const MAX_CHART_FILENAME_CHARS: usize = 255;

/// The image types a chart may be.
pub const IMAGE_TYPES: &str = "png, jpg, gif or webp";

/// A file attached to a Discord message, as received: not yet known to be an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Where the file can be downloaded.
    pub url: String,
    /// The file's name.
    pub filename: String,
    /// The MIME type Discord reported, if any.
    pub content_type: Option<String>,
    /// The size in bytes, if known.
    pub size: Option<u64>,
}

/// An image attached to a plan. Charts keep the order in which they were attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    url: String,
    filename: Option<String>,
    content_type: Option<String>,
    size: Option<u64>,
    position: u32,
}

/// Why an attachment cannot be a chart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidChart {
    /// Not a png, jpg, gif or webp image.
    #[error("'{filename}' is not an image ({IMAGE_TYPES})")]
    NotAnImage {
        /// The attachment's file name.
        filename: String,
    },
    /// The file name has characters no file name needs: control characters, bidi controls
    /// (`chart\u{202E}gnp.exe` shows as `chartexe.png`) or path separators.
    #[error("'{filename}' is not a usable file name")]
    BadFilename {
        /// The file name (shortened when long, unsafe characters left in: show it with
        /// [`display_safe`](crate::display_safe)).
        filename: String,
    },
    /// The file name is longer than [`MAX_CHART_FILENAME_CHARS`].
    #[error("the file name is {chars} characters long; the limit is {MAX_CHART_FILENAME_CHARS}")]
    FilenameTooLong {
        /// How many characters it has.
        chars: usize,
    },
    /// The link is not an `https://` link: Discord serves attachments over https only.
    #[error("'{url}' is not an https link")]
    NotHttps {
        /// The URL given (shortened when long).
        url: String,
    },
    /// The URL is not a URL of sensible length.
    #[error("'{url}' is not a usable chart URL")]
    BadUrl {
        /// The URL given (shortened when long).
        url: String,
    },
}

impl Attachment {
    /// Whether this attachment is an image we keep: judged by its content type when Discord
    /// gave one, otherwise by the file name's extension.
    pub fn is_image(&self) -> bool {
        match self
            .content_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(content_type) => {
                let essence = content_type.split(';').next().unwrap_or_default().trim();
                [
                    "image/png",
                    "image/jpeg",
                    "image/jpg",
                    "image/gif",
                    "image/webp",
                ]
                .iter()
                .any(|t| t.eq_ignore_ascii_case(essence))
            }
            None => {
                let name = self
                    .filename
                    .rsplit_once('.')
                    .map(|(_, ext)| ext)
                    .unwrap_or_default();
                ["png", "jpg", "jpeg", "gif", "webp"]
                    .iter()
                    .any(|ext| ext.eq_ignore_ascii_case(name))
            }
        }
    }
}

impl Chart {
    /// The chart for an image attachment at this position. Refuses, in this order, a file
    /// name that is too long or has control characters, bidi controls or path separators, a
    /// file that is not an image, and a link that is not `https://` or not usable.
    pub fn from_attachment(attachment: &Attachment, position: u32) -> Result<Self, InvalidChart> {
        check_filename(&attachment.filename)?;
        if !attachment.is_image() {
            return Err(InvalidChart::NotAnImage {
                filename: truncate_for_display(&attachment.filename),
            });
        }
        let url = checked_url(&attachment.url)?;
        if !url
            .get(..HTTPS.len())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(HTTPS))
        {
            return Err(InvalidChart::NotHttps {
                url: truncate_for_display(&url),
            });
        }
        let filename = Some(attachment.filename.trim())
            .filter(|f| !f.is_empty())
            .map(str::to_owned);
        Ok(Self {
            url,
            filename,
            content_type: attachment.content_type.clone(),
            size: attachment.size,
            position,
        })
    }

    /// A chart as it was stored, for storage and import code: the URL is checked, the image
    /// type is not (rows from the Python version carry only a URL and a file name).
    pub fn from_stored(
        url: &str,
        filename: Option<String>,
        content_type: Option<String>,
        size: Option<u64>,
        position: u32,
    ) -> Result<Self, InvalidChart> {
        Ok(Self {
            url: checked_url(url)?,
            filename,
            content_type,
            size,
            position,
        })
    }

    /// Where the image can be downloaded.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The file name, if known.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The MIME type, if known.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The size in bytes, if known.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The position among the plan's charts, from 0, in the order attached.
    pub fn position(&self) -> u32 {
        self.position
    }
}

const HTTPS: &str = "https://";

/// A file name fit to keep and show: not too long, and without characters that forge lines,
/// reorder what is shown (`chart\u{202E}gnp.exe`) or name other directories.
fn check_filename(filename: &str) -> Result<(), InvalidChart> {
    let chars = filename.chars().take(MAX_CHART_FILENAME_CHARS + 1).count();
    if chars > MAX_CHART_FILENAME_CHARS {
        return Err(InvalidChart::FilenameTooLong {
            chars: filename.chars().count(),
        });
    }
    if filename.contains(|c: char| c.is_control() || is_bidi_control(c) || c == '/' || c == '\\') {
        return Err(InvalidChart::BadFilename {
            filename: truncate_for_display(filename),
        });
    }
    Ok(())
}

/// An http or https URL of sensible length without white space. Stored charts may be plain
/// http (the Python version's rows); new attachments must be https, checked by the caller.
fn checked_url(url: &str) -> Result<String, InvalidChart> {
    let url = url.trim();
    let scheme = [HTTPS, "http://"].into_iter().find(|scheme| {
        url.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    });
    let Some(scheme) = scheme else {
        return Err(InvalidChart::NotHttps {
            url: truncate_for_display(url),
        });
    };
    if url.len() > scheme.len()
        && url.len() <= MAX_CHART_URL_LEN
        && !url.chars().any(char::is_whitespace)
    {
        Ok(url.to_owned())
    } else {
        Err(InvalidChart::BadUrl {
            url: truncate_for_display(url),
        })
    }
}

/// Splits attachments into charts (numbered in order from 0) and the ones that are not images.
pub fn charts_from_attachments(
    attachments: &[Attachment],
) -> (Vec<Chart>, Vec<(Attachment, InvalidChart)>) {
    let mut charts = Vec::new();
    let mut skipped = Vec::new();
    for attachment in attachments {
        let position = u32::try_from(charts.len()).unwrap_or(u32::MAX);
        match Chart::from_attachment(attachment, position) {
            Ok(chart) => charts.push(chart),
            Err(why) => skipped.push((attachment.clone(), why)),
        }
    }
    (charts, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(filename: &str, content_type: Option<&str>) -> Attachment {
        Attachment {
            url: format!("https://cdn.example.com/{filename}"),
            filename: filename.to_owned(),
            content_type: content_type.map(str::to_owned),
            size: Some(1234),
        }
    }

    #[test]
    fn images_are_judged_by_content_type_first() {
        assert!(attachment("chart.png", Some("image/png")).is_image());
        assert!(attachment("chart", Some("IMAGE/JPEG; q=1")).is_image());
        assert!(!attachment("chart.png", Some("application/pdf")).is_image());
        assert!(!attachment("report.pdf", Some("application/pdf")).is_image());
    }

    #[test]
    fn images_without_content_type_are_judged_by_extension() {
        for name in ["a.png", "a.JPG", "a.jpeg", "a.gif", "a.webp"] {
            assert!(attachment(name, None).is_image(), "{name}");
        }
        for name in ["a.pdf", "png", "a.png.exe", "a", ""] {
            assert!(!attachment(name, None).is_image(), "{name}");
        }
    }

    #[test]
    fn attachments_split_into_ordered_charts_and_skipped_files() {
        let (charts, skipped) = charts_from_attachments(&[
            attachment("one.png", Some("image/png")),
            attachment("notes.pdf", Some("application/pdf")),
            attachment("two.webp", None),
        ]);
        let names: Vec<_> = charts
            .iter()
            .map(|c| (c.filename().unwrap(), c.position()))
            .collect();
        assert_eq!(names, [("one.png", 0), ("two.webp", 1)]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(
            skipped[0].1.to_string(),
            "'notes.pdf' is not an image (png, jpg, gif or webp)"
        );
    }

    #[test]
    fn chart_urls_must_be_usable_links() {
        for url in ["https://", "https://a b/c.png"] {
            let mut a = attachment("a.png", None);
            a.url = url.to_owned();
            assert!(
                matches!(
                    Chart::from_attachment(&a, 0),
                    Err(InvalidChart::BadUrl { .. })
                ),
                "{url:?}"
            );
        }
        let long = format!("https://x/{}", "a".repeat(MAX_CHART_URL_LEN));
        assert!(Chart::from_stored(&long, None, None, None, 0).is_err());
        assert!(Chart::from_stored("https://example.com/chart1.png", None, None, None, 0).is_ok());
        // Rows from the Python version may carry plain http links; they still read.
        assert!(Chart::from_stored("http://example.com/chart1.png", None, None, None, 0).is_ok());
    }

    #[test]
    fn an_attachment_is_skipped_for_the_reason_that_applies() {
        let reason = |a: &Attachment| Chart::from_attachment(a, 0).unwrap_err();
        assert!(matches!(
            reason(&attachment("notes.pdf", Some("application/pdf"))),
            InvalidChart::NotAnImage { .. }
        ));

        let long = format!("{}.png", "x".repeat(300));
        assert_eq!(
            reason(&attachment(&long, Some("image/png"))),
            InvalidChart::FilenameTooLong { chars: 304 }
        );
        assert!(
            Chart::from_attachment(
                &attachment(&format!("{}.png", "é".repeat(251)), Some("image/png")),
                0
            )
            .is_ok()
        );

        for name in [
            "chart\u{202E}gnp.png",
            "../../chart.png",
            "charts\\spy.png",
            "chart\n.png",
            "chart\u{0}.png",
        ] {
            let mut a = attachment("a.png", Some("image/png"));
            a.filename = name.to_owned();
            assert!(
                matches!(reason(&a), InvalidChart::BadFilename { .. }),
                "{name:?}"
            );
        }

        for url in [
            "http://cdn.discordapp.com/attachments/1/2/a.png",
            "ftp://x/a.png",
            "javascript:alert(1)",
            "cdn.discordapp.com/a.png",
            "",
        ] {
            let mut a = attachment("a.png", Some("image/png"));
            a.url = url.to_owned();
            assert!(
                matches!(reason(&a), InvalidChart::NotHttps { .. }),
                "{url:?}"
            );
        }
        assert_eq!(
            InvalidChart::FilenameTooLong { chars: 304 }.to_string(),
            "the file name is 304 characters long; the limit is 255"
        );
    }
}
