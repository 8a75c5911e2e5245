//! `spawn_app`: an API over an in-memory store with a fixed clock, and request helpers.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test;
use coach_plans_api::{Api, ApiSettings, BotStatusSource, StaticBotStatus};
use coach_plans_model::{
    Attachment, Channel, ChannelId, CoachId, MessageId, Plan, PlanDate, PlanText, UserId,
};
use coach_plans_service::{
    Actor, ArchivePolicy, ArchiveSummary, BoxFuture, ChartArchiver, ChartSource, FetchFailure,
    FixedClock, NewPost, PlanEdit, PlanRef, PlanService, ServiceSettings,
};
use coach_plans_storage::MemoryChartStore;
use coach_plans_storage::testing::FaultyStore;
use coach_plans_storage::{StoreError, StoreHealth};
use serde_json::Value;

pub(crate) struct TestApp {
    pub(crate) api: Api,
    pub(crate) service: PlanService,
    pub(crate) store: Arc<FaultyStore>,
    pub(crate) charts: Arc<MemoryChartStore>,
}

/// The base of archived charts' URLs in tests.
pub(crate) const PUBLIC_URL: &str = "http://127.0.0.1:5000";

/// A chart source that answers every link with the same bytes.
struct SameImage(Vec<u8>);

impl ChartSource for SameImage {
    fn fetch<'a>(
        &'a self,
        _url: &'a str,
        sink: &'a mut (dyn std::io::Write + Send),
    ) -> BoxFuture<'a, Result<coach_plans_model::ImageKind, FetchFailure>> {
        Box::pin(async move {
            sink.write_all(&self.0)
                .map_err(|e| FetchFailure::failed(e.to_string()))?;
            coach_plans_model::ImageKind::from_signature(&self.0)
                .ok_or_else(|| FetchFailure::failed("not an image"))
        })
    }

    fn refresh<'a>(
        &'a self,
        _urls: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, FetchFailure>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

impl TestApp {
    /// Every read fails with an error that names a file, which must never reach a client.
    pub(crate) fn fail_reads(&self) {
        self.store.before_each(|call| {
            if call.is_read() {
                Err(StoreError::Other(
                    "disk I/O error at /secret/path/plans.db".into(),
                ))
            } else {
                Ok(())
            }
        });
    }

    /// The store reports the database down, with changes held.
    pub(crate) fn database_down(&self) {
        self.store.report_health(Some(StoreHealth {
            writable: false,
            pending_writes: 3,
            error: Some("database is locked".to_owned()),
        }));
    }
}

/// Today for the fixed clock: 2024-05-10 in New York.
pub(crate) const TODAY: &str = "2024-05-10";

pub(crate) fn spawn_app() -> TestApp {
    spawn_app_with(ApiSettings::default(), StaticBotStatus::mock())
}

pub(crate) fn spawn_app_with(settings: ApiSettings, bot: impl BotStatusSource) -> TestApp {
    let store = Arc::new(FaultyStore::default());
    let clock = Arc::new(FixedClock::new("2024-05-10T16:00:00Z".parse().unwrap()));
    let service = PlanService::with_clock(store.clone(), ServiceSettings::default(), clock);
    let charts = Arc::new(MemoryChartStore::new());
    let api = Api::with_charts(
        service.clone(),
        settings,
        Arc::new(bot),
        charts.clone(),
        format!("{PUBLIC_URL}/"),
    );
    TestApp {
        api,
        service,
        store,
        charts,
    }
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl TestApp {
    pub(crate) async fn request(&self, method: &str, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let app = test::init_service(self.api.app()).await;
        let mut req = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(uri);
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = test::read_body(res).await.to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, uri: &str) -> Reply {
        self.request("GET", uri, &[]).await
    }

    /// Posts a plan as a Discord user would.
    pub(crate) async fn post(&self, coach: &str, date: &str, text: &str, charts: &[&str]) -> Plan {
        self.post_as(&dana(), coach, date, text, charts).await
    }

    pub(crate) async fn post_as(
        &self,
        actor: &Actor,
        coach: &str,
        date: &str,
        text: &str,
        charts: &[&str],
    ) -> Plan {
        let attachments = charts
            .iter()
            .map(|name| Attachment {
                url: format!("https://cdn.discordapp.com/attachments/1/2/{name}"),
                filename: (*name).to_owned(),
                content_type: Some("image/png".to_owned()),
                size: Some(1234),
            })
            .collect();
        let post = NewPost {
            coach: CoachId::parse(coach).unwrap(),
            date: Some(PlanDate::parse(date).unwrap()),
            text: PlanText::parse(text).unwrap(),
            attachments,
            channel: Channel {
                id: ChannelId::new(77),
                name: Some("day-trading".to_owned()),
            },
            message_id: MessageId::new(555),
        };
        self.service.post_plan(actor, post).await.unwrap().plan
    }

    /// Archives every pending chart as `image` (one attempt each), as the archiver does.
    pub(crate) async fn archive_charts(&self, image: &[u8]) -> ArchiveSummary {
        let archiver = ChartArchiver::new(
            self.service.clone(),
            self.charts.clone(),
            Arc::new(SameImage(image.to_vec())),
            ArchivePolicy {
                max_attempts: 1,
                ..ArchivePolicy::default()
            },
        );
        archiver.archive_all(|_| {}).await.unwrap()
    }

    pub(crate) async fn edit(&self, plan: &Plan, text: &str) -> Plan {
        let edit = PlanEdit {
            target: PlanRef::Id(plan.id),
            text: PlanText::parse(text).unwrap(),
            attachments: vec![],
            message_id: None,
        };
        self.service.edit_plan(&dana(), edit).await.unwrap().plan
    }
}

pub(crate) fn dana() -> Actor {
    Actor::new(UserId::new(42).unwrap(), "dana")
}

/// The keys of a JSON object, sorted.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}
