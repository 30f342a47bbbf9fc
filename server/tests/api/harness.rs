//! Test harness: a server on a fresh database, an HTTP client, and a fully set-up site.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use porter_protocol::{PublicKey, SigningKey};
use porter_root::{self as root, CertifyOptions, RootKey};
use porter_server::client::{self, Targets};
use porter_server::http::{router, AppState, JsonRefusalListener};
use porter_server::metrics::Metrics;
use porter_server::{Service, Store};
use serde_json::{json, Value};

#[path = "receiver.rs"]
mod receiver;
#[allow(unused_imports)]
// the failover and portal binaries share this harness, not its receivers
pub use receiver::Receiver;

/// A database to test on.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// The backends this run tests: SQLite always, PostgreSQL when configured. With
/// `PORTER_REQUIRE_POSTGRES=1` a missing PostgreSQL fails the run instead of skipping it.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("PORTER_TEST_POSTGRES") {
        Ok(url) => out.push(Backend::Postgres(url)),
        Err(_) => {
            if std::env::var("PORTER_REQUIRE_POSTGRES").is_ok() {
                panic!("PORTER_REQUIRE_POSTGRES is set but PORTER_TEST_POSTGRES is not");
            }
            eprintln!("note: PORTER_TEST_POSTGRES unset, PostgreSQL cases skipped");
        }
    }
    out
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("porter-test-{tag}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh, empty database URL on `backend`.
pub async fn fresh_database(backend: &Backend) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/porter.db", temp_dir("db").display()),
        Backend::Postgres(admin) => {
            use sqlx::Executor;
            sqlx::any::install_default_drivers();
            let name = format!("porter_test_{:016x}", rand::random::<u64>());
            let pool =
                sqlx::any::AnyPoolOptions::new().max_connections(1).connect(admin).await.unwrap();
            pool.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            pool.close().await;
            let (base, _) = admin.rsplit_once('/').unwrap();
            format!("{base}/{name}")
        }
    }
}

pub fn now() -> i64 {
    porter_server::service::now()
}

/// The bearer token the in-process servers require on `/metrics`.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// A running in-process server.
pub struct Server {
    pub base: String,
    pub service: Service,
    pub database_url: String,
    pub backend: Backend,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start(backend: &Backend) -> Server {
        Server::start_with(backend, 10_000).await
    }

    pub async fn start_with(backend: &Backend, rate_limit: u32) -> Server {
        let url = fresh_database(backend).await;
        Server::on(backend, &url, rate_limit, None).await
    }

    /// A server on an existing database, sealing issuer keys under `secret` if given.
    pub async fn on(
        backend: &Backend,
        url: &str,
        rate_limit: u32,
        secret: Option<[u8; 32]>,
    ) -> Server {
        let url = url.to_string();
        let store = Store::connect(&url).await.unwrap();
        // Webhook receivers in the tests listen on 127.0.0.1: allowed explicitly, as a
        // deployment with an internal receiver would.
        let mut service = Service::new(store, Arc::new(Metrics::default()))
            .with_webhook_targets(Targets::allowing(&["127.0.0.1"]).unwrap());
        if let Some(secret) = secret {
            service = service.with_issuer_key_secret(secret);
        }
        let state =
            AppState::new(service.clone(), rate_limit).with_metrics_token(Some(METRICS_TOKEN));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state);
        let task = tokio::spawn(async move {
            axum::serve(JsonRefusalListener(listener), app).await.unwrap();
        });
        Server {
            base: format!("http://{addr}"),
            service,
            database_url: url,
            backend: backend.clone(),
            task,
        }
    }

    pub async fn operator(&self) -> String {
        Service::bootstrap_operator(self.service.store(), "test").await.unwrap().token
    }
}

/// The result of one call.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn ok(self) -> Value {
        assert!(self.status < 300, "expected success, got {} {}", self.status, self.body);
        self.body
    }
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn refused(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "body: {}", self.body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

pub async fn call_raw(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        h.push(("Authorization", a));
    }
    h.extend_from_slice(headers);
    let url = format!("{base}{path}");
    let r = client::request(method, &url, &h, body, Duration::from_secs(30)).await.unwrap();
    Reply { status: r.status, body: r.json(), raw: r.body }
}

pub async fn call(base: &str, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    call_raw(base, method, path, Some(token), &[], &bytes).await
}

/// Registers `holder` as a driver of the carrier whose token is `carrier`, proving possession
/// the way a phone does: a fresh challenge signed with the holder key.
pub async fn register_driver(base: &str, carrier: &str, holder: &SigningKey, label: &str) -> Reply {
    let proof = possession_proof(base, carrier, holder).await;
    let mut body = json!({"holder_key": hex_key(holder), "label": label});
    body.as_object_mut().unwrap().extend(proof.as_object().unwrap().clone());
    call(base, "POST", "/v1/drivers", carrier, Some(body)).await
}

/// `{"challenge", "signature"}` for registering `holder` with the carrier of `carrier`.
pub async fn possession_proof(base: &str, carrier: &str, holder: &SigningKey) -> Value {
    let c = call(base, "POST", "/v1/drivers/challenges", carrier, None).await.ok();
    let challenge: [u8; 32] =
        hex::decode(c["challenge"].as_str().unwrap()).unwrap().try_into().unwrap();
    let carrier_id = call(base, "GET", "/v1/carriers", carrier, None).await.ok()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let message = porter_server::service::registration_message(&challenge, &carrier_id);
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(holder.seed()));
    json!({"challenge": hex::encode(challenge), "signature": hex::encode(*pair.sk.sign(&message, None))})
}

pub fn hex_key(k: &SigningKey) -> String {
    hex::encode(k.public_key().0)
}

pub fn new_key() -> SigningKey {
    SigningKey::from_seed(rand::random()).unwrap()
}

pub fn today_bit() -> u8 {
    let day = now().div_euclid(86_400);
    1 << ((day + 3).rem_euclid(7) as u8)
}

pub fn cert_options() -> CertifyOptions {
    let now = now() as u32;
    CertifyOptions {
        epoch: 1,
        not_before: now - 3600,
        not_after: now + 86_400 * 30,
        doors: None,
        weekdays: 0x7f,
        from_minute: 0,
        to_minute: 1440,
        max_grant_lifetime: 900,
        max_uses: 4,
        zone: porter_protocol::TimeZone::UTC,
    }
}

/// A whole site set up through the API: root, one door, a certified issuer, an approved
/// carrier with one driver, a unit with one resident, an open delivery.
pub struct World {
    pub base: String,
    pub operator: String,
    pub root: RootKey,
    pub root_file: PathBuf,
    pub site_id: String,
    pub manager: String,
    pub door_id: String,
    pub device: SigningKey,
    pub issuer_id: String,
    pub issuer_key: PublicKey,
    pub carrier_id: String,
    pub carrier: String,
    pub approval_id: String,
    pub driver_id: String,
    pub driver: String,
    pub holder: SigningKey,
    /// The site's log key, which door 1's enrolment names.
    pub log_key: Option<porter_protocol::LogKey>,
    pub unit_id: String,
    pub resident_id: String,
    pub resident: String,
    pub delivery_id: String,
    pub site_number: u32,
}

impl World {
    pub async fn new(server: &Server) -> World {
        World::with(
            server,
            cert_options(),
            json!({"doors": [1], "max_uses": 4, "max_lifetime_minutes": 15}),
        )
        .await
    }

    pub async fn with(server: &Server, cert: CertifyOptions, approval: Value) -> World {
        World::setup(&server.base, &server.operator().await, cert, approval).await
    }

    pub async fn setup(base: &str, operator: &str, cert: CertifyOptions, approval: Value) -> World {
        let base = base.to_string();
        let operator = operator.to_string();
        let dir = temp_dir("root");
        let root_file = dir.join("root.key");
        let site_number = rand::random::<u32>() | 1;
        let root = root::init(&root_file, Some(site_number)).unwrap();
        let site = call(
            &base,
            "POST",
            "/v1/sites",
            &operator,
            Some(json!({
                "name": "12 Rue Exemple", "site_number": site_number, "root_key": hex_key(&root.key),
                "zone": "UTC0"
            })),
        )
        .await
        .ok();
        let site_id = site["id"].as_str().unwrap().to_string();
        let log_key = root::parse_log_key(site["log_key"].as_str().unwrap()).ok();
        let manager = call(
            &base,
            "POST",
            "/v1/tokens",
            &operator,
            Some(json!({"role": "manager", "site_id": site_id})),
        )
        .await
        .ok()["token"]
            .as_str()
            .unwrap()
            .to_string();

        let device = new_key();
        let enrolment =
            root::enroll_device(&root, 1, device.public_key(), log_key, now() as u32).unwrap();
        let door = call(
            &base,
            "POST",
            &format!("/v1/sites/{site_id}/doors"),
            &manager,
            Some(json!({
                "name": "street door", "enrolment": hex::encode(enrolment)
            })),
        )
        .await
        .ok();
        let door_id = door["id"].as_str().unwrap().to_string();

        let issuer =
            call(&base, "POST", &format!("/v1/sites/{site_id}/issuers"), &manager, None).await.ok();
        let issuer_id = issuer["id"].as_str().unwrap().to_string();
        let issuer_hex = issuer["public_key"].as_str().unwrap().to_string();
        let issuer_key = root::parse_key("issuer", &issuer_hex).unwrap();
        let cert = root::certify_issuer(&root, issuer_key, &cert).unwrap();
        call(
            &base,
            "PUT",
            &format!("/v1/sites/{site_id}/issuers/{issuer_id}/certificate"),
            &manager,
            Some(json!({
                "certificate": hex::encode(cert)
            })),
        )
        .await
        .ok();

        let carrier_id =
            call(&base, "POST", "/v1/carriers", &operator, Some(json!({"name": "Rapid Parcel"})))
                .await
                .ok()["id"]
                .as_str()
                .unwrap()
                .to_string();
        let carrier = call(
            &base,
            "POST",
            "/v1/tokens",
            &operator,
            Some(json!({"role": "carrier", "carrier_id": carrier_id})),
        )
        .await
        .ok()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let mut approval = approval;
        approval["carrier_id"] = json!(carrier_id);
        approval["issuer_id"] = json!(issuer_id);
        let approval_id = call(
            &base,
            "POST",
            &format!("/v1/sites/{site_id}/approvals"),
            &manager,
            Some(approval),
        )
        .await
        .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();

        let holder = new_key();
        let driver_id = register_driver(&base, &carrier, &holder, "van 7").await.ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let driver = call(
            &base,
            "POST",
            "/v1/tokens",
            &carrier,
            Some(json!({"role": "driver", "driver_id": driver_id})),
        )
        .await
        .ok()["token"]
            .as_str()
            .unwrap()
            .to_string();

        let unit_id = call(
            &base,
            "POST",
            &format!("/v1/sites/{site_id}/units"),
            &manager,
            Some(json!({"label": "4B"})),
        )
        .await
        .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let resident_id = call(
            &base,
            "POST",
            &format!("/v1/sites/{site_id}/units/{unit_id}/residents"),
            &manager,
            Some(json!({"display_name": "A. Martin"})),
        )
        .await
        .ok()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let resident = call(
            &base,
            "POST",
            "/v1/tokens",
            &manager,
            Some(json!({"role": "resident", "resident_id": resident_id})),
        )
        .await
        .ok()["token"]
            .as_str()
            .unwrap()
            .to_string();

        let mut world = World {
            base,
            operator,
            root,
            root_file,
            site_id,
            manager,
            door_id,
            device,
            issuer_id,
            issuer_key,
            carrier_id,
            carrier,
            approval_id,
            driver_id,
            driver,
            holder,
            log_key,
            unit_id,
            resident_id,
            resident,
            delivery_id: String::new(),
            site_number,
        };
        world.delivery_id = world.announce("1Z999AA10123456784", now() - 60, now() + 3600).await;
        world
    }

    pub async fn announce(&self, tracking: &str, start: i64, end: i64) -> String {
        call(
            &self.base,
            "POST",
            "/v1/deliveries",
            &self.carrier,
            Some(json!({
                "site_id": self.site_id, "unit": "4B", "tracking_number": tracking,
                "window_start": start, "window_end": end
            })),
        )
        .await
        .ok()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn ask(&self, delivery: &str, body: Value) -> Reply {
        call(
            &self.base,
            "POST",
            &format!("/v1/deliveries/{delivery}/grants"),
            &self.driver,
            Some(body),
        )
        .await
    }

    /// Registers one more driver of this world's carrier; returns its id.
    pub async fn register_driver(&self, label: &str) -> String {
        register_driver(&self.base, &self.carrier, &new_key(), label).await.ok()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn grant(&self) -> Value {
        self.ask(&self.delivery_id, json!({"uses": 1, "lifetime_minutes": 10})).await.ok()
    }
}
