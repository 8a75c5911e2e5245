//! Charts as the native API shows them (archive state, SPEC 14), and chart images fetched.

use coach_plans_model::{ImageKind, Sha256};
use reqwest::Url;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Where the archiving of a chart's image stands, as the server reports it.
///
/// A status this version of the client does not know (from a newer server) reads as
/// [`ArchiveStatus::Unknown`] with its name, rather than failing the whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArchiveStatus {
    /// The server holds its own copy: [`PlanChart::archived_url`] serves it for as long as the
    /// plan exists.
    Archived,
    /// Not archived yet: only Discord's link works, until it expires (about a day).
    Pending,
    /// The server gave up; [`PlanChart::reason`] says why.
    Failed,
    /// A status added after this client was written, with its name as sent. A later version
    /// of the client may give it a variant of its own: match on it only to report it.
    Unknown(String),
}

impl ArchiveStatus {
    /// The name on the wire: `archived`, `pending`, `failed`, or the unknown name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Archived => "archived",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Unknown(name) => name,
        }
    }

    fn from_name(name: String) -> Self {
        match name.as_str() {
            "archived" => Self::Archived,
            "pending" => Self::Pending,
            "failed" => Self::Failed,
            _ => Self::Unknown(name),
        }
    }
}

impl std::fmt::Display for ArchiveStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ArchiveStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from_name)
    }
}

/// One chart of a plan with its archive state, as `GET /api/v1/plans/{id}` shows it
/// (docs/api.md). Read it with [`PlanClient::fetch_plan_charts`](crate::PlanClient::fetch_plan_charts).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawChart")]
#[non_exhaustive]
pub struct PlanChart {
    /// The position among the plan's charts, from 0, in the order attached.
    pub position: u32,
    /// The file name, if known.
    pub filename: Option<String>,
    /// The MIME type Discord reported, if any.
    pub content_type: Option<String>,
    /// The size in bytes Discord reported, if known.
    pub size: Option<u64>,
    /// Where the archiving stands.
    pub status: ArchiveStatus,
    /// The SHA-256 of the archived bytes, once archived.
    pub sha256: Option<Sha256>,
    /// The archived image's absolute URL, once archived (and when the server serves archived
    /// charts). It does not expire.
    pub archived_url: Option<String>,
    /// Discord's link, which expires about a day after it was issued.
    pub discord_url: String,
    /// Why a failed chart was given up on.
    pub reason: Option<String>,
}

impl PlanChart {
    /// The link to use now: the archived image when there is one, Discord's link otherwise.
    /// Both can be given to [`PlanClient::fetch_chart`](crate::PlanClient::fetch_chart).
    pub fn best_url(&self) -> &str {
        self.archived_url.as_deref().unwrap_or(&self.discord_url)
    }
}

/// The wire shape. Servers from before chart archiving send only `url` and the attachment's
/// fields: their charts read as pending, with `url` as Discord's link.
#[derive(Deserialize)]
struct RawChart {
    url: String,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    position: u32,
    #[serde(default)]
    status: Option<ArchiveStatus>,
    #[serde(default)]
    sha256: Option<Sha256>,
    #[serde(default)]
    archived_url: Option<String>,
    #[serde(default)]
    discord_url: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl From<RawChart> for PlanChart {
    fn from(raw: RawChart) -> Self {
        Self {
            position: raw.position,
            filename: raw.filename,
            content_type: raw.content_type,
            size: raw.size,
            status: raw.status.unwrap_or(ArchiveStatus::Pending),
            sha256: raw.sha256,
            archived_url: raw.archived_url,
            discord_url: raw.discord_url.unwrap_or(raw.url),
            reason: raw.reason,
        }
    }
}

/// The part of `GET /api/v1/plans/{id}` [`PlanClient::fetch_plan_charts`] reads.
///
/// [`PlanClient::fetch_plan_charts`]: crate::PlanClient::fetch_plan_charts
#[derive(Deserialize)]
pub(crate) struct PlanCharts {
    pub(crate) charts: Vec<PlanChart>,
}

/// A chart image as fetched: its exact bytes and type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChartBytes {
    /// The image's bytes, exactly as served.
    pub bytes: Vec<u8>,
    /// The `Content-Type` the server gave (`application/octet-stream` when it gave none).
    pub content_type: String,
    /// The SHA-256 the bytes were checked against: set for an archived chart's URL
    /// (`…/api/v1/charts/{sha256}.{ext}`), `None` for other links (such as Discord's).
    pub sha256: Option<Sha256>,
}

/// The blob an archived chart URL names: its path ends in `api/v1/charts/{sha256}.{ext}`.
pub(crate) fn archived_name(url: &Url) -> Option<(Sha256, ImageKind)> {
    let mut segments = url.path_segments()?.rev();
    let file = segments.next()?;
    let prefix: Vec<&str> = segments.take(3).collect();
    if prefix != ["charts", "v1", "api"] {
        return None;
    }
    let (hex, extension) = file.split_once('.')?;
    Some((
        Sha256::parse(hex).ok()?,
        ImageKind::from_extension(extension)?,
    ))
}

/// The SHA-256 of `bytes`.
pub(crate) fn sha256_of(bytes: &[u8]) -> Sha256 {
    use sha2::Digest as _;
    Sha256::from_bytes(sha2::Sha256::digest(bytes).into())
}

/// A plan page's JSON with the stored archive record (`archive`) dropped from any chart whose
/// record names a status this client does not know, so a newer server's statuses do not make
/// the whole page unreadable. Such a chart's [`Chart::archive`](coach_plans_model::Chart::archive)
/// then reads as new; [`PlanChart::status`] keeps the real status.
pub(crate) fn forget_unknown_archive_records(page: &mut Value) {
    let Some(plans) = page.get_mut("plans").and_then(Value::as_array_mut) else {
        return;
    };
    let charts = plans
        .iter_mut()
        .filter_map(|plan| plan.get_mut("charts").and_then(Value::as_array_mut))
        .flatten()
        .filter_map(Value::as_object_mut);
    for chart in charts {
        let known = chart
            .get("archive")
            .and_then(|archive| archive.get("status"))
            .and_then(Value::as_str)
            .is_none_or(|name| coach_plans_model::ChartStatus::from_name(name).is_some());
        if !known {
            chart.remove("archive");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn archived_chart_urls_name_their_blob() {
        let named = |url: &str| archived_name(&Url::parse(url).unwrap());
        assert_eq!(
            named(&format!("http://h:5000/api/v1/charts/{SHA}.png")),
            Some((Sha256::parse(SHA).unwrap(), ImageKind::Png))
        );
        assert!(named(&format!("https://h/prefix/api/v1/charts/{SHA}.jpg?x=1")).is_some());
        for other in [
            format!("https://h/api/v1/charts/{}.png", SHA.to_uppercase()),
            format!("https://h/api/v2/charts/{SHA}.png"),
            format!("https://h/api/v1/charts/{SHA}.pdf"),
            format!("https://h/charts/{SHA}.png"),
            "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1".to_owned(),
        ] {
            assert_eq!(named(&other), None, "{other}");
        }
    }

    #[test]
    fn the_hash_of_nothing_is_the_known_one() {
        assert_eq!(sha256_of(b"").to_string(), SHA);
    }

    #[test]
    fn an_unknown_archive_record_status_is_dropped_and_known_ones_kept() {
        let mut page = serde_json::json!({"plans": [{"charts": [
            {"url": "https://x/a.png", "archive": {"status": "quarantined"}},
            {"url": "https://x/b.png", "archive": {"status": "failed", "attempts": 5}},
            {"url": "https://x/c.png"},
        ]}]});
        forget_unknown_archive_records(&mut page);
        let charts = &page["plans"][0]["charts"];
        assert!(charts[0].get("archive").is_none());
        assert_eq!(charts[1]["archive"]["status"], "failed");
        assert!(charts[2].get("archive").is_none());
    }
}
