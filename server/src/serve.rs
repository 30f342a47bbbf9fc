//! `porter serve`: the HTTP(S) server, the outbox worker and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::client::Targets;
use crate::config::Config;
use crate::http::{router_with, AppState, JsonRefusalAcceptor};
use crate::metrics::Metrics;
use crate::service::Service;
use crate::store::Store;

/// Runs the server until SIGINT or SIGTERM. Prints `porter listening on <url>` once bound.
pub async fn serve(config: Config) -> Result<(), String> {
    let url = config.database_url()?;
    let store = Store::connect(&url).await.map_err(|e| format!("cannot open the database: {e}"))?;
    tracing::info!(backend = ?store.backend(), "database ready, migrations applied");
    let mut service = Service::new(store.clone(), Arc::new(Metrics::default()))
        .with_webhook_targets(Targets::allowing(&config.webhook_allow_targets)?)
        .with_webhook_roots(config.webhook_roots()?);
    match config.issuer_key_secret()? {
        Some(secret) => service = service.with_issuer_key_secret(secret),
        None => tracing::warn!(
            "no issuer_key_secret_file: issuer private keys are stored unencrypted in the database"
        ),
    }
    let state = AppState::new(service.clone(), config.rate_limit_per_minute)
        .with_metrics_token(config.metrics_token.as_deref());
    let (portal_url, any_port) = config.portal_url();
    let portal = crate::portal::Portal::new(service.clone(), &portal_url, any_port)?;
    let app = router_with(state, crate::portal::router(portal));
    let addr: SocketAddr = config
        .listen
        .parse()
        .map_err(|e| format!("listen address {:?} is not host:port: {e}", config.listen))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox = crate::outbox::Outbox::new(
        service.clone(),
        crate::outbox::Policy {
            backoff_base: config.webhook_backoff_seconds.max(1),
            lease: config.webhook_lease_seconds.max(1),
        },
    )?
    .with_limits(crate::outbox::Limits {
        total: config.webhook_concurrency as usize,
        per_site: config.webhook_concurrency_per_site as usize,
    });
    let interval = Duration::from_millis(config.outbox_interval_ms.max(10));
    let mailer = match config.smtp()? {
        Some(settings) => {
            let mailer = crate::portal::mail::Mailer::new(&settings)?;
            Some(tokio::spawn(mailer.run(service.clone(), interval, stop_rx.clone())))
        }
        None => None,
    };
    let worker = tokio::spawn(outbox.run(interval, stop_rx));

    let handle = axum_server::Handle::new();
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            handle.graceful_shutdown(Some(grace));
        });
    }
    let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            if let Some(addr) = handle.listening().await {
                tracing::info!(%addr, scheme, "listening");
                println!("porter listening on {scheme}://{addr}");
            }
        });
    }
    let served = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| format!("cannot load TLS certificate or key: {e}"))?;
            let acceptor = JsonRefusalAcceptor(axum_server::tls_rustls::RustlsAcceptor::new(tls));
            axum_server::bind(addr)
                .acceptor(acceptor)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }
        _ => {
            let acceptor = JsonRefusalAcceptor(axum_server::accept::DefaultAcceptor);
            axum_server::bind(addr)
                .acceptor(acceptor)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }
    };
    let _ = stop_tx.send(true);
    let _ = worker.await;
    if let Some(mailer) = mailer {
        let _ = mailer.await;
    }
    store.close().await;
    served.map_err(|e| format!("cannot serve on {addr}: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
