//! One request to the web portal (pages, forms, sessions, CSRF, the sign-in limiter) through
//! porter-server's real router: no panic, no 5xx, well-formed refusals, pages only behind a
//! session of their role, forms only with the session's CSRF token.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_server::fuzzing::portal::fuzz_portal(data));
