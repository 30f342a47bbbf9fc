//! The group commit of grants (`service::grant_writer`): on PostgreSQL a group is one statement
//! (one round trip), and on both backends its rules hold for requests that share a key.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use serde_json::json;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::harness::*;

/// The writer's groups (its `grant_group` spans) and the statements sqlx ran inside them (its
/// `sqlx::query` events, one per statement executed), on one thread.
#[derive(Default)]
struct GroupStatements {
    groups: AtomicUsize,
    statements: AtomicUsize,
}

thread_local! {
    static COUNTED: RefCell<Option<Arc<GroupStatements>>> = const { RefCell::new(None) };
}

/// Counts into [`COUNTED`] of the thread the span or event happens on, if it has one.
struct Counting;

fn counted(count: impl FnOnce(&GroupStatements)) {
    COUNTED.with(|c| {
        if let Some(counts) = &*c.borrow() {
            count(counts)
        }
    })
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Counting {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        if attrs.metadata().name() == "grant_group" {
            counted(|c| {
                c.groups.fetch_add(1, Ordering::SeqCst);
            });
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let in_group = ctx
            .event_scope(event)
            .is_some_and(|mut scope| scope.any(|span| span.name() == "grant_group"));
        if in_group {
            counted(|c| {
                c.statements.fetch_add(1, Ordering::SeqCst);
            });
        }
    }
}

/// Counts the groups and their statements that run on this thread from now on. The
/// subscriber is the process's global one: tracing caches whether a call site is wanted when a
/// thread first reaches it, and a subscriber set for one thread only is not asked when another
/// test's thread gets there first (the count then misses statements).
fn count_group_statements_on_this_thread() -> Arc<GroupStatements> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Counting))
            .expect("no other test of this binary sets a global subscriber");
    });
    let counts = Arc::new(GroupStatements::default());
    COUNTED.with(|c| *c.borrow_mut() = Some(counts.clone()));
    counts
}

#[tokio::test]
async fn a_group_of_grants_is_one_statement_on_postgres() {
    let Some(backend) = backends().into_iter().find(|b| matches!(b, Backend::Postgres(_))) else {
        return;
    };
    let server = Server::start(&backend).await;
    let w = World::new(&server).await;
    let body = json!({"uses": 1, "lifetime_minutes": 5});
    // The first grant leases the issuer's serials and reads the site's facts: not the group's.
    w.ask(&w.delivery_id, body.clone()).await.ok();
    let mut deliveries = Vec::new();
    for n in 0..4 {
        deliveries.push(w.announce(&format!("ONE-STATEMENT-{n}"), now() - 60, now() + 3600).await);
    }

    // This test's thread runs the server and its writer (tokio's test runtime is one thread).
    let counts = count_group_statements_on_this_thread();
    // Each request alone, so each is a group; two with idempotency keys (the transaction sent
    // two more statements for each key).
    for (n, delivery) in deliveries.iter().enumerate() {
        let path = format!("/v1/deliveries/{delivery}/grants");
        let key = format!("one-statement-{n}");
        let headers: &[(&str, &str)] =
            if n % 2 == 0 { &[("Idempotency-Key", key.as_str())] } else { &[] };
        let reply =
            call_raw(&w.base, "POST", &path, Some(&w.driver), headers, body.to_string().as_bytes())
                .await;
        reply.ok();
    }
    COUNTED.with(|c| c.borrow_mut().take());

    let groups = counts.groups.load(Ordering::SeqCst);
    let statements = counts.statements.load(Ordering::SeqCst);
    assert_eq!(groups, deliveries.len(), "one group per request");
    assert_eq!(statements, groups, "statements sent by {groups} groups of grants");
}

#[tokio::test]
async fn simultaneous_grant_requests_with_one_key_yield_one_grant_and_a_refusal_frees_its_key() {
    let bound = porter_server::service::MAX_GRANTS_PER_DELIVERY;
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let n = backend.name();
        let store = server.service.store();
        let body = json!({"uses": 1, "lifetime_minutes": 5}).to_string();
        let ask = |delivery: &str, key: &'static str| {
            let path = format!("/v1/deliveries/{delivery}/grants");
            let body = body.clone();
            let base = w.base.clone();
            let driver = w.driver.clone();
            async move {
                let headers = [("Idempotency-Key", key)];
                call_raw(&base, "POST", &path, Some(&driver), &headers, body.as_bytes()).await
            }
        };

        // Sixteen at once with one key: one grant, the same for every request answered 201
        // (a request that finds the key taken replays its grant), one claim on the delivery.
        let delivery = w.announce("ONE-KEY-1", now() - 60, now() + 3600).await;
        let replies =
            futures_util::future::join_all((0..16).map(|_| ask(&delivery, "race-1"))).await;
        let grants: HashSet<&str> = replies
            .iter()
            .filter(|r| r.status == 201)
            .map(|r| r.body["grant"].as_str().unwrap())
            .collect();
        assert_eq!(grants.len(), 1, "{n}: {replies:?}");
        assert!(
            replies.iter().all(|r| r.status == 201 || r.code() == "idempotency_in_flight"),
            "{n}: {replies:?}"
        );
        let row = store.delivery(&delivery.as_str().into()).await.unwrap().unwrap();
        assert_eq!(row.grants_issued, 1, "{n}: grants claimed on the delivery");

        // Sixteen at once with sixteen keys on a delivery with `bound` grants: `bound` issued,
        // the rest refused; each refused request's key is free again, so sending it again is
        // decided again (refused again), never "in flight".
        let keys: Vec<&'static str> =
            (0..16).map(|k| &*Box::leak(format!("many-{k}").into_boxed_str())).collect();
        let delivery = w.announce("ONE-KEY-2", now() - 60, now() + 3600).await;
        let replies = futures_util::future::join_all(keys.iter().map(|k| ask(&delivery, k))).await;
        let issued = replies.iter().filter(|r| r.status == 201).count() as i64;
        assert_eq!(issued, bound, "{n}: {replies:?}");
        for (key, reply) in keys.iter().zip(&replies) {
            let again = ask(&delivery, key).await;
            if reply.status == 201 {
                assert_eq!(again.body, reply.body, "{n}: the key replays its grant");
            } else {
                reply.refused(422, "delivery_grants_exhausted");
                again.refused(422, "delivery_grants_exhausted");
            }
        }
        let row = store.delivery(&delivery.as_str().into()).await.unwrap().unwrap();
        assert_eq!(row.grants_issued, bound, "{n}: grants claimed on the delivery");
    }
}
