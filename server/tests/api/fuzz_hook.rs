//! The fuzz target `server_request`'s hook (`porter_server::fuzzing`, feature `fuzzing`) on the
//! inputs its checks are about: every route without a valid token, hostile paths, an oversized
//! body, the OpenAPI document's example requests. Each call asserts inside (no 5xx, every
//! refusal `{code, message}` with a known code, nothing past authentication without a token).

use porter_server::fuzzing::fuzz_request;
use porter_server::http::endpoints;

/// The order of the hook's methods.
const METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"];
/// The route byte that sends the path as given.
const RAW: u8 = 0xFF;

fn input(method: &str, auth: u8, route: u8, path: &str, header: &str, body: &[u8]) -> Vec<u8> {
    let method = METHODS.iter().position(|m| *m == method).unwrap() as u8;
    let mut out = vec![method, auth, route];
    out.extend_from_slice(path.as_bytes());
    out.push(0);
    out.extend_from_slice(header.as_bytes());
    out.push(0);
    out.extend_from_slice(body);
    out
}

#[test]
fn no_route_is_reached_without_a_valid_token() {
    let all = endpoints();
    assert!(all.len() < usize::from(RAW), "route bytes past the endpoints mean a raw path");
    for (i, e) in all.iter().enumerate() {
        // No token, an unknown token, a malformed Authorization header; JSON or not.
        for auth in [0x00, 0x82, 0x03] {
            fuzz_request(&input(e.method, auth, i as u8, "site_0/door_0/x", "Basic abc", b"{}"));
        }
    }
}

#[test]
fn hostile_paths_and_methods_get_the_error_shape() {
    for path in [
        "/metrics",
        "/v1/sites/%00",
        "/v1/sites/%ff%fe",
        "/v1/../etc",
        "/v1/sites?limit=-1",
        "/nope",
    ] {
        for method in METHODS {
            fuzz_request(&input(method, 0x81, RAW, path, "k", b""));
        }
    }
    // `/metrics` keeps its own token: without one, a refusal from before any logic (401).
    fuzz_request(&input("GET", 0x00, RAW, "/metrics", "", b""));
    fuzz_request(&input("GET", 0x81, RAW, &format!("/v1/sites/{}", "a".repeat(2000)), "k", b""));
}

#[test]
fn an_oversized_body_is_refused_with_the_error_shape() {
    let body = vec![b'{'; 70 * 1024];
    for auth in [0x81, 0x00] {
        fuzz_request(&input("POST", auth, RAW, "/v1/carriers", "k", &body));
    }
}

#[test]
fn the_openapi_examples_are_answered_without_a_server_error() {
    // What the committed seeds send: the operator creating objects from the document's
    // examples, broken JSON, and lists with a cursor.
    fuzz_request(&input("POST", 0x81, RAW, "/v1/carriers", "c1", br#"{"name": "Rapid Parcel"}"#));
    fuzz_request(&input("POST", 0x81, RAW, "/v1/carriers", "c1", br#"{"name": "Other"}"#));
    fuzz_request(&input("POST", 0x81, RAW, "/v1/carriers", "", br#"{"name": 7"#));
    let site = br#"{"name": "12 Rue Exemple", "site_number": 12345, "root_key": "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c", "zone": "CET-1CEST,M3.5.0,M10.5.0/3"}"#;
    fuzz_request(&input("POST", 0x81, RAW, "/v1/sites", "s1", site));
    fuzz_request(&input("GET", 0x81, RAW, "/v1/carriers?limit=1&after=zzz", "", b""));
}
