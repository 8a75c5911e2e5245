//! `spawn_app`: an API over an in-memory store with a fixed clock, and request helpers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test;
use coach_plans_api::{Api, ApiSettings, BotStatusSource, StaticBotStatus};
use coach_plans_model::{
    Attachment, Author, Channel, ChannelId, CoachId, HistoryEntry, MessageId, Plan, PlanDate,
    PlanId, PlanText, Timestamp, UserId,
};
use coach_plans_service::{
    Actor, FixedClock, NewPost, PlanEdit, PlanRef, PlanService, ServiceSettings,
};
use coach_plans_storage::{
    ImportReport, MemoryStore, NewPlan, PlanQuery, PlanStore, Revision, StoreError, StoreHealth,
    StoreStats,
};
use serde_json::Value;

/// A store that can be told to fail reads or to report itself unwritable.
#[derive(Default)]
pub(crate) struct FaultyStore {
    inner: MemoryStore,
    pub(crate) fail_reads: AtomicBool,
    pub(crate) down: AtomicBool,
}

impl FaultyStore {
    fn read<T>(&self, read: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        if self.fail_reads.load(Ordering::SeqCst) {
            return Err(StoreError::Other(
                "disk I/O error at /secret/path/plans.db".into(),
            ));
        }
        read()
    }
}

impl PlanStore for FaultyStore {
    fn create_plan(&self, plan: NewPlan) -> Result<Plan, StoreError> {
        self.inner.create_plan(plan)
    }
    fn revise_plan(&self, id: PlanId, revision: Revision) -> Result<Plan, StoreError> {
        self.inner.revise_plan(id, revision)
    }
    fn delete_plan(&self, id: PlanId, by: Author, at: Timestamp) -> Result<Plan, StoreError> {
        self.inner.delete_plan(id, by, at)
    }
    fn plan(&self, id: PlanId) -> Result<Option<Plan>, StoreError> {
        self.read(|| self.inner.plan(id))
    }
    fn live_plan(&self, coach: &CoachId, date: PlanDate) -> Result<Option<Plan>, StoreError> {
        self.read(|| self.inner.live_plan(coach, date))
    }
    fn plans_for(&self, coach: &CoachId, date: PlanDate) -> Result<Vec<Plan>, StoreError> {
        self.read(|| self.inner.plans_for(coach, date))
    }
    fn list_plans(&self, query: &PlanQuery) -> Result<Vec<Plan>, StoreError> {
        self.read(|| self.inner.list_plans(query))
    }
    fn history(&self, id: PlanId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read(|| self.inner.history(id))
    }
    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.read(|| self.inner.stats())
    }
    fn import_plans(&self, plans: &[NewPlan]) -> Result<ImportReport, StoreError> {
        self.inner.import_plans(plans)
    }
    fn health(&self) -> StoreHealth {
        if self.down.load(Ordering::SeqCst) {
            StoreHealth {
                writable: false,
                pending_writes: 3,
                error: Some("database is locked".to_owned()),
            }
        } else {
            StoreHealth::up()
        }
    }
}

pub(crate) struct TestApp {
    pub(crate) api: Api,
    pub(crate) service: PlanService,
    pub(crate) store: Arc<FaultyStore>,
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
    let api = Api::new(service.clone(), settings, Arc::new(bot));
    TestApp {
        api,
        service,
        store,
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
