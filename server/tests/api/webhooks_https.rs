//! HTTPS webhook receivers. A receiver certified by the operator's own certificate authority
//! gets its deliveries once that CA is trusted (`webhook_ca_file`, which `porter serve` turns
//! into `Service::with_webhook_roots`); one certified by a CA nobody configured is refused in
//! the TLS handshake, and the failure is recorded like any other failed delivery: the message
//! stays in the outbox with its attempt counted, its next attempt backed off, and `last_error`
//! naming the unknown issuer (what an operator sees in the `webhook failed` log line and the
//! `porter_webhook_failures_total` counter). Plain `http://` goes only to listed internal ranges.

use std::sync::Arc;
use std::time::Duration;

use porter_server::client::{Targets, TrustedRoots};
use porter_server::ids::SiteId;
use porter_server::metrics::Metrics;
use porter_server::outbox::{Outbox, Policy};
use porter_server::service::{Code, NewWebhook};
use porter_server::Service;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;

use crate::harness::*;

const POLICY: Policy = Policy { backoff_base: 1, lease: 60 };

/// A certificate authority made for one test.
struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        TestCa { cert, key }
    }

    /// The CA's certificate, PEM (what `webhook_ca_file` holds).
    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A server certificate for `localhost` signed by this CA, and its key, both PEM.
    fn certify_localhost(&self) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A service over the test server's store, as `porter serve` builds it with
/// `webhook_allow_targets = ["127.0.0.1"]` and the CA certificates `roots`.
fn service_trusting(server: &Server, roots: TrustedRoots) -> Service {
    Service::new(server.service.store().clone(), Arc::new(Metrics::default()))
        .with_webhook_targets(Targets::allowing(&["127.0.0.1"]).unwrap())
        .with_webhook_roots(roots)
}

/// The outbox message for `url`: (attempts, last error).
async fn outbox_row(server: &Server, url: &str) -> (i64, Option<String>) {
    sqlx::query_as::<_, (i64, Option<String>)>(
        "SELECT o.attempts, o.last_error FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
         WHERE w.url = $1",
    )
    .bind(url.to_string())
    .fetch_one(server.service.store().pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn https_receivers_are_trusted_through_the_configured_ca_and_others_refused() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let ours = TestCa::new("Porter test CA");
        let stranger = TestCa::new("Someone else's CA");
        let (cert, key) = ours.certify_localhost();
        let trusted = Receiver::start_tls(&cert, &key).await;
        let (cert, key) = stranger.certify_localhost();
        let untrusted = Receiver::start_tls(&cert, &key).await;
        let add = |url: String| {
            let path = format!("/v1/sites/{}/webhooks", w.site_id);
            let (base, manager) = (w.base.clone(), w.manager.clone());
            async move { call(&base, "POST", &path, &manager, Some(json!({ "url": url }))).await }
        };
        let hook = add(trusted.url.clone()).await.ok();
        add(untrusted.url.clone()).await.ok();
        w.announce("HTTPS-1", now() - 60, now() + 3600).await;

        // Without webhook_ca_file the built-in web PKI roots know neither CA: both refused in
        // the handshake, before a byte of the message is sent.
        let outbox = Outbox::new(service_trusting(&server, TrustedRoots::none()), POLICY).unwrap();
        assert_eq!(outbox.deliver_due().await.unwrap(), 0, "{}", backend.name());
        for rx in [&trusted, &untrusted] {
            assert_eq!(rx.arrived.load(std::sync::atomic::Ordering::SeqCst), 0);
            let (attempts, error) = outbox_row(&server, &rx.url).await;
            assert_eq!(attempts, 1);
            let error = error.unwrap();
            assert!(error.contains("UnknownIssuer"), "{error}");
        }

        // With our CA trusted, the next attempt is delivered, signed as ever; the stranger's
        // receiver is refused again, its failure counted and backed off like any other.
        let roots = TrustedRoots::from_pem(ours.pem().as_bytes()).unwrap();
        let outbox = Outbox::new(service_trusting(&server, roots), POLICY).unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(outbox.deliver_due().await.unwrap(), 1, "{}", backend.name());
        let got = trusted.received();
        assert_eq!(got.len(), 1);
        assert!(got[0].verifies(hook["public_key"].as_str().unwrap()));
        assert!(got[0].body.contains("delivery.announced"), "{}", got[0].body);
        assert_eq!(untrusted.arrived.load(std::sync::atomic::Ordering::SeqCst), 0);
        let (attempts, error) = outbox_row(&server, &untrusted.url).await;
        assert_eq!(attempts, 2);
        let error = error.unwrap();
        assert!(error.contains("invalid peer certificate: UnknownIssuer"), "{error}");
        eprintln!("{}: an untrusted receiver's last_error: {error}", backend.name());
    }
}

#[test]
fn a_ca_file_without_a_certificate_is_refused_with_the_reason() {
    let e = TrustedRoots::from_pem(b"not a certificate").unwrap_err();
    assert!(e.contains("no PEM certificate"), "{e}");
    let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let e = TrustedRoots::from_pem(broken.as_bytes()).unwrap_err();
    assert!(e.contains("certificate"), "{e}");
    let two = format!("{}{}", TestCa::new("a").pem(), TestCa::new("b").pem());
    assert_eq!(TrustedRoots::from_pem(two.as_bytes()).unwrap().len(), 2);
}

/// A server with no internal range listed (the production default) refuses a plain http://
/// receiver when it is added, instead of failing every delivery to it; https:// is accepted.
#[tokio::test]
async fn plain_http_receivers_need_a_listed_internal_range() {
    let server = Server::start(&Backend::Sqlite).await;
    let w = World::new(&server).await;
    let strict = Service::new(server.service.store().clone(), Arc::new(Metrics::default()));
    let manager = strict.authenticate(&w.manager).await.unwrap();
    let site = SiteId::from(w.site_id.as_str());
    let hook = |url: &str| NewWebhook { url: url.into() };
    let e = strict.add_webhook(&manager, &site, hook("http://hooks.example.com/")).await;
    let e = e.unwrap_err();
    assert_eq!(e.code, Code::InvalidUrl);
    assert!(e.message.contains("url must be https://"), "{}", e.message);
    strict.add_webhook(&manager, &site, hook("https://hooks.example.com/")).await.unwrap();
    // The test server lists 127.0.0.1: plain http:// to it is accepted there.
    let url = format!("/v1/sites/{}/webhooks", w.site_id);
    let added =
        call(&w.base, "POST", &url, &w.manager, Some(json!({"url": "http://127.0.0.1:9/"}))).await;
    assert_eq!(added.status, 201);
}
