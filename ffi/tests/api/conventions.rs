//! The FFI conventions that a reader could break without a compiler noticing, checked on the
//! source: every exported function runs inside the panic boundary and follows the naming rule.

const SOURCES: [(&str, &str); 6] = [
    ("audit.rs", include_str!("../../src/audit.rs")),
    ("door.rs", include_str!("../../src/door.rs")),
    ("door_audit.rs", include_str!("../../src/door_audit.rs")),
    ("grant.rs", include_str!("../../src/grant.rs")),
    ("holder.rs", include_str!("../../src/holder.rs")),
    ("result.rs", include_str!("../../src/result.rs")),
];

/// Each `pub extern "C" fn` with its body (up to the closing brace at column 0).
fn exported() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, text) in SOURCES {
        let mut rest = text;
        while let Some(at) = rest.find("pub extern \"C\" fn ") {
            let after = &rest[at + "pub extern \"C\" fn ".len()..];
            let name = after.split('(').next().unwrap().to_string();
            let end = after.find("\n}\n").unwrap_or_else(|| panic!("{file}: {name} has no end"));
            out.push((name, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_exported_function_runs_inside_the_panic_boundary() {
    let functions = exported();
    assert!(functions.len() >= 54, "found only {} exported functions", functions.len());
    for (name, body) in functions {
        // `get(...)` is the accessors' helper around `boundary_value`.
        let guarded = body.contains("boundary(")
            || body.contains("boundary_value(")
            || body.contains(" get(");
        assert!(guarded, "{name} does not run inside the panic boundary");
    }
}

#[test]
fn exported_names_follow_porter_object_verb() {
    // `porter_version` is about the library itself, as `rustls_version` is in rustls-ffi.
    for (name, _) in exported().into_iter().filter(|(n, _)| n != "porter_version") {
        assert!(name.starts_with("porter_") && name.matches('_').count() >= 2, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
    }
}
