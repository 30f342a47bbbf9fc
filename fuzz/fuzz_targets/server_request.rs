//! One HTTP request (method, path, token, idempotency key, body) through the server's real
//! router over an in-memory store: no panic, no 5xx, every refusal a `{code, message}` with a
//! known code, nothing past authentication without a valid token.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_server::fuzzing::fuzz_request(data));
