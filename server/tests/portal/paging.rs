//! The entries a resident sees and the manager's access log are shown newest first, a page at
//! a time, and the "Older" link walks back through the whole log: every admission once, none
//! skipped (admissions sharing a second included), the manager's filters kept; the manager's
//! deliveries likewise. The manager's units go on with a "Next page" link in the API's order.

use porter_server::ids::SiteId;
use porter_server::portal::render::local_time;

use serde_json::json;

use super::harness::{backends, call, now, Backend};
use super::{world, Browser, PortalServer};

/// More than two pages of 200.
const ADMISSIONS: i64 = 450;

#[tokio::test]
async fn the_pages_walk_back_through_the_whole_log() {
    for backend in backends() {
        paging_on(&backend).await;
    }
}

async fn paging_on(backend: &Backend) {
    let server = PortalServer::on(backend).await;
    let w = world(&server).await;
    let store = server.service.store();
    // Door 1's log as the server keeps it after uploads: three admissions a second, none
    // matched to a grant (so the manager's `unmatched` filter keeps them all).
    let start = now() - 10_000;
    for sequence in 0..ADMISSIONS {
        sqlx::query(
            "INSERT INTO admissions (door_id, sequence, site_id, record, at, received_at)
             VALUES ($1, $2, $3, '', $4, $4)",
        )
        .bind(w.door_id.clone())
        .bind(sequence)
        .bind(w.site_id.clone())
        .bind(start + sequence / 3)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let zone = store.site(&SiteId::from(w.site_id.as_str())).await.unwrap().unwrap().zone;
    let newest = local_time(&zone, start + (ADMISSIONS - 1) / 3);
    let oldest = local_time(&zone, start);

    let resident = server.sign_in(&w.resident, "Rémi").await;
    let pages = walk(&server, &resident, "/portal/resident/entries", rows).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [200, 200, 50]);
    assert!(pages[0][0].contains(&newest), "{:?}", pages[0][0]);
    assert!(pages[2][49].contains(&oldest), "{:?}", pages[2][49]);

    let manager = server.sign_in(&w.manager, "Maud").await;
    let pages = walk(&server, &manager, "/portal/manager/log?outcome=unmatched", rows).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [200, 200, 50]);
    assert!(pages[0][0].contains(&newest) && pages[2][49].contains(&oldest));
    // A filter that matches nothing still matches nothing on every page.
    let none = walk(&server, &manager, "/portal/manager/log?outcome=matched", rows).await;
    assert_eq!(none.iter().map(Vec::len).collect::<Vec<_>>(), [0]);

    // The units (and their residents) a page at a time too, in the API's order: the world's
    // flat 4B and 205 more, each once.
    for n in 0..205 {
        let path = format!("/v1/sites/{}/units", w.site_id);
        call(&w.base, "POST", &path, &w.manager, Some(json!({"label": format!("U{n:03}")})))
            .await
            .ok();
    }
    let units = |body: &str| -> Vec<String> {
        body.split("<h2 id=\"unit-")
            .skip(1)
            .map(|s| s.split('"').next().unwrap_or("").into())
            .collect()
    };
    let pages = walk(&server, &manager, "/portal/manager/residents", units).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [200, 6]);
    let mut all: Vec<String> = pages.concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 206);

    // The deliveries, newest first: the world's one and 200 more, each once.
    let window = now() + 3600;
    for n in 0..200 {
        w.announce(&format!("1Z{n:016}"), window, window + 3600).await;
    }
    let deliveries = |body: &str| -> Vec<String> {
        body.split("<tr>\n<th scope=\"row\">").skip(1).map(|r| r.to_string()).collect()
    };
    let pages = walk(&server, &manager, "/portal/manager/deliveries", deliveries).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [200, 1]);
}

/// The rows of a log page, as the time cells that start them (`<td>YYYY-MM-DD HH:MM</td>`).
fn rows(body: &str) -> Vec<String> {
    body.split("<td>20")
        .skip(1)
        .map(|r| format!("20{}", r.split("</tr>").next().unwrap_or("")))
        .collect()
}

/// Every page from `path` on, following the "Older" / "Next page" links: each page's
/// rows, as `rows_of` reads them.
async fn walk<R>(
    server: &PortalServer,
    who: &Browser,
    path: &str,
    rows_of: impl Fn(&str) -> Vec<R>,
) -> Vec<Vec<R>> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(path) = next.take() {
        let page = server.get(&path, Some(who), "en").await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        pages.push(rows_of(&page.body));
        if let Some((before, _)) = page.body.split_once(r#"" rel="next""#) {
            let href = before.rsplit("href=\"").next().unwrap_or("");
            next = Some(href.replace("&amp;", "&").replace("&#x2f;", "/"));
        }
        assert!(pages.len() <= 5, "the next-page links never end: {path}");
    }
    pages
}
