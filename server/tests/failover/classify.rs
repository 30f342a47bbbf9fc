//! The errors a failover produces, against a real PostgreSQL: a write refused by a read-only
//! server (a demoted primary or a standby) and a session the server ended are transient; a
//! read-only server is never handed to a request; the API answers `503
//! database_unavailable` with `Retry-After`, and the client's retry with its key yields
//! exactly one grant.

use porter_server::store::is_transient;
use porter_server::Store;
use serde_json::json;
use sqlx::Executor;

use crate::harness::*;

fn admin_url() -> Option<String> {
    backends().into_iter().find_map(|b| match b {
        Backend::Postgres(url) => Some(url),
        Backend::Sqlite => None,
    })
}

async fn admin_exec(admin: &str, sql: &str) {
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(admin).await.unwrap();
    pool.execute(sql).await.unwrap();
    pool.close().await;
}

/// Ends every session on database `name` (as a primary shutting down, or a proxy cutting it).
async fn end_sessions(admin: &str, name: &str) {
    admin_exec(
        admin,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await;
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn writes_on_a_read_only_server_and_ended_sessions_are_transient() {
    let Some(admin) = admin_url() else { return };
    let url = fresh_database(&Backend::Postgres(admin.clone())).await;
    let store = Store::connect(&url).await.unwrap();

    // What a demoted primary or a standby answers to a write: 25006.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await.unwrap();
    let e = sqlx::query("CREATE TABLE probe (x BIGINT)").execute(&mut *tx).await.unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("25006"), "{e:?}");
    assert!(is_transient(&e), "{e:?}");
    drop(tx);

    // The server ends the session (a primary shutting down for a switchover does this).
    let mut conn = store.pool().acquire().await.unwrap();
    let pid: i32 =
        sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.unwrap();
    admin_exec(&admin, &format!("SELECT pg_terminate_backend({pid})")).await;
    let e = sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap_err();
    assert!(is_transient(&e), "an ended session must be transient: {e:?}");
    drop(conn);

    // A refusal is not transient: retrying cannot help and must not hide it.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("CREATE TABLE probe (x BIGINT PRIMARY KEY)").execute(&mut *tx).await.unwrap();
    sqlx::query("INSERT INTO probe VALUES (1)").execute(&mut *tx).await.unwrap();
    let e = sqlx::query("INSERT INTO probe VALUES (1)").execute(&mut *tx).await.unwrap_err();
    assert_eq!(sqlstate(&e).as_deref(), Some("23505"));
    assert!(!is_transient(&e));
    drop(tx);
    store.close().await;
}

#[tokio::test]
async fn a_read_only_database_answers_503_with_retry_after_and_the_retry_issues_one_grant() {
    let Some(admin) = admin_url() else { return };
    let backend = Backend::Postgres(admin.clone());
    let url = fresh_database(&backend).await;
    let name = url.rsplit_once('/').unwrap().1.to_string();
    let server = Server::on(&backend, &url, 10_000, None).await;
    let w = World::new(&server).await;

    // The database turns read-only, as a demoted primary does, and every session on it ends
    // (Patroni restarts a demoted primary; HAProxy cuts its sessions).
    admin_exec(&admin, &format!("ALTER DATABASE {name} SET default_transaction_read_only = on"))
        .await;
    end_sessions(&admin, &name).await;
    let grant_url = format!("{}/v1/deliveries/{}/grants", w.base, w.delivery_id);
    let body = json!({"uses": 1, "lifetime_minutes": 5}).to_string();
    let post = || {
        reqwest::Client::new()
            .post(&grant_url)
            .bearer_auth(&w.driver)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", "during-failover")
            .body(body.clone())
            .send()
    };
    let r = post().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let answer: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(answer["code"], "database_unavailable", "{answer}");

    // A writable primary again: the client's retry with its key issues the grant, once.
    admin_exec(&admin, &format!("ALTER DATABASE {name} SET default_transaction_read_only = off"))
        .await;
    let first = post().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = serde_json::from_slice(&first.bytes().await.unwrap()).unwrap();
    let again = post().await.unwrap();
    assert_eq!(
        again.headers().get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let again: serde_json::Value = serde_json::from_slice(&again.bytes().await.unwrap()).unwrap();
    assert_eq!(first["id"], again["id"]);
    let grants = server.service.store().all_grants().await.unwrap();
    assert_eq!(grants.len(), 1);
}

/// The pool pings a connection only when it sat idle or predates a failure the process saw (a
/// ping on every use was a second round trip per statement). Connections that die while in
/// steady use (a primary cut off between two requests) may fail the one request that finds
/// out; every later request gets a checked connection, not the next dead one in the pool.
#[tokio::test]
async fn when_busy_connections_die_only_the_first_request_to_find_out_is_refused() {
    let Some(admin) = admin_url() else { return };
    let backend = Backend::Postgres(admin.clone());
    let url = fresh_database(&backend).await;
    let name = url.rsplit_once('/').unwrap().1.to_string();
    let server = Server::on(&backend, &url, 10_000, None).await;
    let w = World::new(&server).await;
    let read = || call(&w.base, "GET", "/v1/tokens?limit=10", &w.carrier, None);

    // Several pooled connections in recent use, then every one of them ended at once.
    let warm: Vec<Reply> = futures_util::future::join_all((0..8).map(|_| read())).await;
    assert!(warm.iter().all(|r| r.status == 200), "{warm:?}");
    end_sessions(&admin, &name).await;

    let mut refused = 0;
    for n in 0..8 {
        let r = read().await;
        match r.status {
            200 => {}
            503 if refused == 0 => {
                assert_eq!(r.code(), "database_unavailable", "{}", r.body);
                refused += 1;
            }
            _ => panic!(
                "request {n} after the cut: {} {} ({refused} refused before)",
                r.status, r.body
            ),
        }
    }
}
