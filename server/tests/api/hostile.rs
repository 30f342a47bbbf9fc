//! Malformed, oversized and hostile input gets a 4xx with a clear `{code, message}`, never a 5xx.

use serde_json::json;

use crate::harness::*;

fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(3000), "}".repeat(3000));
    vec![
        ("empty", Vec::new()),
        ("truncated", b"{\"uses\": 1,".to_vec()),
        ("not json", b"uses=1&lifetime=5".to_vec()),
        ("invalid utf-8", vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']),
        ("nul bytes", b"{\"name\": \"\0\0\0\"}".to_vec()),
        ("array", b"[1,2,3]".to_vec()),
        ("null", b"null".to_vec()),
        ("wrong types", br#"{"uses": "one", "lifetime_minutes": [], "name": 5, "site_number": "x"}"#.to_vec()),
        ("negative", br#"{"uses": -1, "lifetime_minutes": -5, "site_number": -1, "door_number": -1}"#.to_vec()),
        ("overflow", br#"{"uses": 1e400, "lifetime_minutes": 99999999999999999999999, "site_number": 4294967296}"#.to_vec()),
        ("extreme numbers", br#"{"site_id": "x", "unit": "4B", "tracking_number": "T", "window_start": -9223372036854775808, "window_end": 9223372036854775807, "uses": 255, "lifetime_minutes": 4294967295, "door_number": 65535, "max_uses": 255, "max_lifetime_minutes": 4294967295, "utc_offset_minutes": -32768}"#.to_vec()),
        ("unknown field", br#"{"uses": 1, "lifetime_minutes": 5, "admin": true}"#.to_vec()),
        ("duplicate field", br#"{"uses": 1, "uses": 2, "lifetime_minutes": 5}"#.to_vec()),
        ("deep arrays", deep.into_bytes()),
        ("deep objects", deep_obj.into_bytes()),
        ("oversized", format!("{{\"name\": \"{}\"}}", "a".repeat(70 * 1024)).into_bytes()),
        ("huge", vec![b' '; 2 * 1024 * 1024]),
        ("bad hex", br#"{"state": "zz", "certificate": "abc", "enrolment": "0", "receipt": "g0", "holder_key": "00", "site_id": "x", "door_number": 1, "head": "", "records": ["zz"]}"#.to_vec()),
        ("long hex", format!("{{\"state\": \"{}\", \"certificate\": \"{0}\", \"enrolment\": \"{0}\", \"receipt\": \"{0}\", \"site_id\": \"x\", \"door_number\": 1}}", "ab".repeat(20_000)).into_bytes()),
        ("escaped nul in ids", br#"{"site_id": "site_\u0000", "unit": "\u0000", "tracking_number": "a\u0000", "window_start": 1, "window_end": 2, "kind": "grant", "id": "\u0000", "role": "manager", "door_number": 1, "receipt": "00"}"#.to_vec()),
        ("control chars", "{\"name\": \"a\\u0000b\\u001b[31m\", \"label\": \"\\u0007\", \"display_name\": \"\\n\"}".as_bytes().to_vec()),
    ]
}

#[tokio::test]
async fn hostile_json_gets_a_clear_4xx_never_a_5xx() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let targets: Vec<(&str, String, &str)> = vec![
            ("POST", "/v1/sites".into(), w.operator.as_str()),
            ("POST", "/v1/tokens".into(), w.operator.as_str()),
            ("POST", format!("/v1/sites/{}/doors", w.site_id), w.manager.as_str()),
            (
                "PUT",
                format!("/v1/sites/{}/issuers/{}/certificate", w.site_id, w.issuer_id),
                w.manager.as_str(),
            ),
            ("POST", format!("/v1/sites/{}/approvals", w.site_id), w.manager.as_str()),
            ("POST", format!("/v1/sites/{}/door-states", w.site_id), w.manager.as_str()),
            ("POST", format!("/v1/sites/{}/revocations", w.site_id), w.manager.as_str()),
            ("POST", format!("/v1/sites/{}/units", w.site_id), w.manager.as_str()),
            ("POST", format!("/v1/sites/{}/webhooks", w.site_id), w.manager.as_str()),
            ("POST", "/v1/drivers".into(), w.carrier.as_str()),
            ("POST", "/v1/deliveries".into(), w.carrier.as_str()),
            ("POST", format!("/v1/deliveries/{}/grants", w.delivery_id), w.driver.as_str()),
            ("POST", "/v1/receipts".into(), w.driver.as_str()),
            ("POST", "/v1/audit-batches".into(), w.driver.as_str()),
            ("PUT", "/v1/me/opt-out".into(), w.resident.as_str()),
        ];
        let mut n = 0;
        for (method, path, token) in &targets {
            for (name, body) in bodies() {
                let r = call_raw(&w.base, method, path, Some(token), &[], &body).await;
                assert!(
                    (400..500).contains(&r.status),
                    "{method} {path} with {name}: got {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.raw)
                );
                let code = r.body["code"].as_str().unwrap_or_else(|| {
                    panic!(
                        "{method} {path} {name}: no code in {:?}",
                        String::from_utf8_lossy(&r.raw)
                    )
                });
                let message = r.body["message"].as_str().unwrap();
                assert!(!code.is_empty() && !message.is_empty());
                assert!(!message.contains("sqlx") && !message.contains("SQL"), "{message}");
                n += 1;
            }
        }
        assert_eq!(n, targets.len() * bodies().len());
        // Odd paths, methods and headers.
        for path in [
            "/v1/nothing",
            "/v1/sites/../../etc/passwd",
            "/v1/deliveries/%00",
            "/v1/deliveries/a%00b/cancel",
            "/",
        ] {
            for token in [&w.operator, &w.carrier, &w.manager] {
                let r = call(&w.base, "GET", path, token, None).await;
                assert!((400..500).contains(&r.status), "{path}: {}", r.status);
                let r = call(&w.base, "POST", path, token, None).await;
                assert!((400..500).contains(&r.status), "{path}: {}", r.status);
            }
        }
        for path in ["/v1/deliveries/%00", "/v1/sites/x%00y/policy", "/v1/sites/%C0%80/entries"] {
            let r = call(&w.base, "GET", path, &w.resident, None).await;
            r.refused(400, "invalid_path");
        }
        let r = call(&w.base, "DELETE", "/v1/sites", &w.operator, None).await;
        assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
        let long_key = "k".repeat(500);
        let r = call_raw(
            &w.base,
            "POST",
            "/v1/carriers",
            Some(&w.operator),
            &[("Idempotency-Key", &long_key)],
            br#"{"name":"x"}"#,
        )
        .await;
        r.refused(400, "invalid_idempotency_key");
        let r = call(&w.base, "GET", "/v1/sites", &"x".repeat(5000), None).await;
        assert_eq!(r.status, 401);
        // The server still answers.
        let h = call_raw(&w.base, "GET", "/healthz", None, &[], b"").await;
        assert_eq!(h.status, 200);
        let _ = json!(null);
    }
}
