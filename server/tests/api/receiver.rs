//! A webhook receiver for the tests: plain HTTP or HTTPS on 127.0.0.1, recording what it hears.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

/// One webhook request as a receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
    pub at: std::time::Instant,
}

impl Received {
    /// Whether the Standard Webhooks signature verifies under `key` (`whpk_...` or `whsec_...`).
    pub fn verifies(&self, key: &str) -> bool {
        porter_server::standard_webhooks::verify(
            key,
            &self.id,
            self.timestamp,
            self.body.as_bytes(),
            &self.signature,
        )
    }
}

/// A webhook receiver on 127.0.0.1: records every request it answers; answers 204 while
/// `healthy`, and otherwise hangs (a silent receiver) without recording.
pub struct Receiver {
    pub url: String,
    pub received: Arc<std::sync::Mutex<Vec<Received>>>,
    pub healthy: Arc<std::sync::atomic::AtomicBool>,
    /// Requests that arrived, answered or not.
    pub arrived: Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    pub async fn start(healthy: bool) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::on(listener, healthy)
    }

    /// A healthy receiver on a chosen port.
    pub async fn start_on(port: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        Receiver::on(listener, true)
    }

    fn on(listener: tokio::net::TcpListener, healthy: bool) -> Receiver {
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (app, receiver) = Receiver::routes(url, healthy);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver
    }

    /// A healthy receiver serving HTTPS on 127.0.0.1 with the PEM certificate chain `cert`
    /// (made for the name `localhost`) and its key; its URL names `localhost`.
    pub async fn start_tls(cert: &str, key: &str) -> Receiver {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let tls =
            axum_server::tls_rustls::RustlsConfig::from_pem(cert.into(), key.into()).await.unwrap();
        let (app, receiver) = Receiver::routes(format!("https://localhost:{port}/hook"), true);
        tokio::spawn(async move {
            let _ =
                axum_server::from_tcp_rustls(listener, tls).serve(app.into_make_service()).await;
        });
        receiver
    }

    /// The receiver's one route, `POST /hook`, and the receiver that records what it hears.
    fn routes(url: String, healthy: bool) -> (axum::Router, Receiver) {
        use axum::http::{HeaderMap, StatusCode};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        type State = (Arc<std::sync::Mutex<Vec<Received>>>, Arc<AtomicBool>, Arc<AtomicUsize>);
        async fn hook(
            axum::extract::State((received, healthy, arrived)): axum::extract::State<State>,
            headers: HeaderMap,
            body: axum::body::Bytes,
        ) -> StatusCode {
            arrived.fetch_add(1, Ordering::SeqCst);
            if !healthy.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(120)).await;
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            let h = |name: &str| {
                headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
            };
            received.lock().unwrap().push(Received {
                id: h("webhook-id"),
                timestamp: h("webhook-timestamp").parse().unwrap_or(-1),
                signature: h("webhook-signature"),
                body: String::from_utf8_lossy(&body).into_owned(),
                at: std::time::Instant::now(),
            });
            StatusCode::NO_CONTENT
        }
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let healthy = Arc::new(AtomicBool::new(healthy));
        let arrived = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state((
            received.clone(),
            healthy.clone(),
            arrived.clone(),
        ));
        (app, Receiver { url, received, healthy, arrived })
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}
