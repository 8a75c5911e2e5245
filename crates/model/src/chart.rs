//! Chart screenshots attached to plans.

use serde::{Deserialize, Serialize};

use crate::display::is_bidi_control;
use crate::{ImageKind, Sha256, Timestamp, truncate_for_display};

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
///
/// Besides what Discord said of the attachment, a chart carries its [`ChartArchive`]: whether
/// our own copy of the image has been stored yet. A new chart is [`ChartStatus::Pending`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chart {
    url: String,
    filename: Option<String>,
    content_type: Option<String>,
    size: Option<u64>,
    position: u32,
    // Left out of JSON while untouched (a new chart), so plans, history snapshots and
    // journals written before archiving existed read back as they were. How the HTTP API shows
    // archive state is the API's choice, made where it serves charts.
    #[serde(default, skip_serializing_if = "ChartArchive::is_new")]
    archive: ChartArchive,
}

/// Whether our own copy of a chart's image is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChartStatus {
    /// Not archived yet: waiting for its first download or for another try.
    #[default]
    Pending,
    /// Archived: the blob named by its SHA-256 is in the chart store.
    Archived,
    /// Given up on after the last try; the reason says why.
    Failed,
}

impl ChartStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Archived, Self::Failed];

    /// The name stored and shown: `pending`, `archived`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Archived => "archived",
            Self::Failed => "failed",
        }
    }

    /// The status [`as_str`](Self::as_str) names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

impl std::fmt::Display for ChartStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The archive state of a chart. The constructors make the consistent states: archived with
/// its blob's hash, size, type and time; pending or failed with the attempts made and, after
/// a failed attempt, why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ChartArchive {
    /// Where the archiving stands.
    pub status: ChartStatus,
    /// The blob's name, once archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    /// The blob's size in bytes, once archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_size: Option<u64>,
    /// What the bytes really are (by their signature), once archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageKind>,
    /// Why the last attempt failed (pending: it will be tried again; failed: given up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Failed download attempts so far, as the archiver counts them (kept once archived).
    pub attempts: u32,
    /// When it was archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
}

impl ChartArchive {
    /// A chart not yet tried: pending, no attempts.
    pub fn pending() -> Self {
        Self::default()
    }

    /// Archived as the blob `sha256` of `stored_size` bytes of `image`, at `at`; the attempts
    /// made so far are kept.
    pub fn archived(
        sha256: Sha256,
        stored_size: u64,
        image: ImageKind,
        at: Timestamp,
        attempts: u32,
    ) -> Self {
        Self {
            status: ChartStatus::Archived,
            sha256: Some(sha256),
            stored_size: Some(stored_size),
            image: Some(image),
            reason: None,
            attempts,
            archived_at: Some(at),
        }
    }

    /// After `attempts` attempts, the last failing for `reason`: failed when `last` (given up),
    /// else pending, to be tried again.
    pub fn failed_attempt(reason: impl Into<String>, attempts: u32, last: bool) -> Self {
        Self {
            status: if last {
                ChartStatus::Failed
            } else {
                ChartStatus::Pending
            },
            reason: Some(reason.into()),
            attempts,
            ..Self::default()
        }
    }

    /// Whether this is the state of a chart never tried (pending, nothing recorded).
    pub fn is_new(&self) -> bool {
        *self == Self::default()
    }
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
            && !is_loopback_http(&url)
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
            archive: ChartArchive::pending(),
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
            archive: ChartArchive::pending(),
        })
    }

    /// This chart with its archive state as stored or recorded.
    pub fn with_archive(mut self, archive: ChartArchive) -> Self {
        self.archive = archive;
        self
    }

    /// This chart downloadable from a new link (a refreshed Discord link), checked as
    /// [`Chart::from_stored`] checks one.
    pub fn with_url(mut self, url: &str) -> Result<Self, InvalidChart> {
        self.url = checked_url(url)?;
        Ok(self)
    }

    /// Whether `other` is the same attachment: the same file name, type, size and position, at
    /// the same link up to its query string (a refreshed Discord link differs from the first
    /// only in its signature, `?ex=…&is=…&hm=…`). Archive state is not compared.
    pub fn same_attachment(&self, other: &Chart) -> bool {
        fn without_query(url: &str) -> &str {
            url.split_once('?').map_or(url, |(head, _)| head)
        }
        without_query(&self.url) == without_query(&other.url)
            && self.filename == other.filename
            && self.content_type == other.content_type
            && self.size == other.size
            && self.position == other.position
    }

    /// Whether our own copy of the image is stored, and what it is.
    pub fn archive(&self) -> &ChartArchive {
        &self.archive
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

/// Whether `url` is plain `http://` to this machine (127.0.0.1, `localhost`, `[::1]`): what a
/// fake Discord serves its files from in tests (SPEC 14 allows plain http for loopback only).
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .and_then(|_| url.get(7..))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

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
    fn plain_http_is_accepted_from_this_machine_only() {
        for url in [
            "http://127.0.0.1:9002/attachments/1/2/a.png?ex=1",
            "http://localhost/a.png",
            "http://[::1]:80/a.png",
        ] {
            let mut a = attachment("a.png", Some("image/png"));
            a.url = url.to_owned();
            assert!(Chart::from_attachment(&a, 0).is_ok(), "{url}");
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
    fn a_new_chart_is_pending_and_its_json_is_unchanged() {
        let chart = Chart::from_attachment(&attachment("a.png", Some("image/png")), 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chart.archive().status, ChartStatus::Pending);
        assert_eq!(chart.archive().attempts, 0);
        let json = serde_json::to_value(&chart).unwrap_or_else(|e| panic!("{e}"));
        assert!(json.get("archive").is_none(), "{json}");
        // Charts written before archiving existed (history, journals) read as pending.
        let old: Chart = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old, chart);
    }

    #[test]
    fn archive_state_travels_with_the_chart() {
        let sha = Sha256::from_bytes([7; 32]);
        let at =
            Timestamp::parse("2024-05-10T12:00:00.000000+00:00").unwrap_or_else(|e| panic!("{e}"));
        let archived = Chart::from_stored("https://x/a.png", None, None, None, 0)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_archive(ChartArchive::archived(sha, 42, ImageKind::Png, at, 2));
        let json = serde_json::to_value(&archived).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json["archive"]["status"], "archived");
        assert_eq!(json["archive"]["image"], "png");
        assert_eq!(json["archive"]["sha256"], sha.to_string());
        let back: Chart = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, archived);

        let retry = ChartArchive::failed_attempt("404", 1, false);
        assert_eq!((retry.status, retry.attempts), (ChartStatus::Pending, 1));
        let failed = ChartArchive::failed_attempt("404", 5, true);
        assert_eq!(failed.status, ChartStatus::Failed);
        assert_eq!(failed.reason.as_deref(), Some("404"));
        assert!(!failed.is_new() && ChartArchive::pending().is_new());
        for status in ChartStatus::ALL {
            assert_eq!(ChartStatus::from_name(status.as_str()), Some(status));
        }
    }

    #[test]
    fn a_refreshed_link_is_the_same_attachment() {
        let first = Chart::from_stored(
            "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=3",
            Some("a.png".into()),
            None,
            None,
            0,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let refreshed = first
            .clone()
            .with_url("https://cdn.discordapp.com/attachments/1/2/a.png?ex=4&is=5&hm=6")
            .unwrap_or_else(|e| panic!("{e}"))
            .with_archive(ChartArchive::failed_attempt("expired", 1, false));
        assert!(first.same_attachment(&refreshed));
        assert_ne!(first, refreshed);
        let other = first
            .clone()
            .with_url("https://cdn.discordapp.com/attachments/1/3/a.png")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!first.same_attachment(&other));
        assert!(first.clone().with_url("not a link").is_err());
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
            "http://127.0.0.1.example.com/a.png",
            "http://user@127.0.0.1.example.com/a.png",
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
