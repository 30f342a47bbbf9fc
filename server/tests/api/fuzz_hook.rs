//! The fuzz target `server_request`'s hook (`porter_server::fuzzing`, feature `fuzzing`) on the
//! inputs its checks are about: every route without a valid token, hostile paths, an oversized
//! body, the OpenAPI document's example requests. Each call asserts inside (no 5xx, every
//! refusal `{code, message}` with a known code, nothing past authentication without a token).

use porter_server::fuzzing::fuzz_request;
use porter_server::fuzzing::portal::{self, fuzz_portal as portal_fuzz};
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

/// The portal hook's input: `[method, who, route, path \0 form \0 cookie]` (see
/// `porter_server::fuzzing::portal`). `who`: 0 nobody, 1 manager, 2 resident, 3 the cookie;
/// `| 0x10` a form body; `csrf`: 0 the session's own token, 1 none, 2 the other session's.
fn portal_input(method: u8, who: u8, csrf: u8, route: &str, path: &str, form: &str) -> Vec<u8> {
    let route = portal::ROUTES.iter().position(|r| *r == route).unwrap_or(0xFF) as u8;
    let mut out = vec![method, who | (csrf << 2) | 0x10, route];
    out.extend_from_slice(path.as_bytes());
    out.push(0);
    out.extend_from_slice(form.as_bytes());
    out.push(0);
    out.extend_from_slice(b"porter_session=0123");
    out
}

const GET: u8 = 0;
const POST: u8 = 1;

#[test]
fn every_portal_route_is_refused_without_a_session_and_served_with_one() {
    // Each call asserts inside: no 5xx, a refusal well-formed, no page without a session or of
    // another role, no form without the session's CSRF token.
    for route in portal::ROUTES {
        for who in 0..4 {
            for method in [GET, POST] {
                for csrf in 0..3 {
                    portal_fuzz(&portal_input(method, who, csrf, route, "$0", "label=9Z"));
                }
            }
        }
    }
}

#[test]
fn portal_forms_take_the_session_csrf_token_and_survive_hostile_bodies() {
    for form in [
        "label=5A",
        "display_name=X&email=a%40b.example",
        "kind=driver&subject=zz",
        "csrf=a&csrf=b",
        "%ff%fe=%00",
        "email=not-an-address",
    ] {
        for route in [
            "/portal/manager/units",
            "/portal/manager/residents/invite",
            "/portal/manager/revocations/revoke",
            "/portal/resident/email",
            "/portal/resident/opt-out",
            "/portal/sign-in/start",
            "/portal/sign-in/finish",
        ] {
            for csrf in 0..4 {
                portal_fuzz(&portal_input(POST, 1, csrf, route, "", form));
                portal_fuzz(&portal_input(POST, 2, csrf, route, "", form));
            }
        }
    }
    // Sign-out with the token ends the session; the hook signs the harness back in.
    portal_fuzz(&portal_input(POST, 1, 0, "/portal/sign-out", "", ""));
    portal_fuzz(&portal_input(GET, 1, 0, "/portal/manager", "", ""));
    // Raw paths beside the portal, and a dozen sign-in starts from one address (the limiter).
    for path in ["/portal/../v1/sites", "/portal/manager/%00", "/portal/lang/xx?back=//evil"] {
        portal_fuzz(&portal_input(GET, 0, 1, "", path, ""));
    }
    for _ in 0..12 {
        portal_fuzz(&portal_input(POST, 0, 1, "/portal/sign-in/start", "", ""));
    }
}

/// Finding of `server_portal`: a portal page asked with a method it does not take (a form
/// posted to `/portal`, a GET of a form's route) was answered by axum's bare 405, no body;
/// now the portal's error page.
#[test]
fn a_portal_page_asked_with_another_method_gets_the_error_page() {
    portal_fuzz(&portal_input(POST, 0, 1, "/portal", "", ""));
    portal_fuzz(&portal_input(GET, 1, 0, "/portal/manager/units", "", ""));
    portal_fuzz(&portal_input(3, 2, 0, "/portal/resident", "", ""));
}

/// Finding of `server_portal`: the language switch's `back` with a character no `Location`
/// header can hold (a decoded `%0a`, a non-ASCII letter) answered 500; now it goes back to
/// `/portal`.
#[test]
fn the_language_switch_goes_back_only_to_a_path_a_header_can_hold() {
    for back in
        ["/portal/manag\u{dc}r", "/portal/%0aSet-Cookie:x=1", "/portal/%c3%a9", "/portal/a%20b"]
    {
        portal_fuzz(&portal_input(
            GET,
            1,
            1,
            "/portal/lang/{lang}",
            &format!("fr?back={back}"),
            "",
        ));
    }
}
