//! The reason table in `core-protocol/src/error.rs` is the one source: the spec's table must
//! say the same thing.

use porter_protocol::*;

#[test]
fn the_spec_reason_table_matches_the_code() {
    let spec = include_str!("../../../spec/protocol.md");
    let section = spec.split("## 6. Reasons").nth(1).expect("spec section 6").split("\n## ").next();
    let rows: Vec<(u16, String, String)> = section
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.parse().ok()?;
            Some((code, cells.get(2)?.to_string(), cells.get(4)?.to_string()))
        })
        .collect();
    let table: Vec<(u16, String, String)> = Error::ALL
        .iter()
        .map(|e| (e.code(), e.name().to_string(), format!("{:?}", e.coarse()).to_lowercase()))
        .collect();
    assert_eq!(rows, table, "spec/protocol.md section 6 differs from the reason table");
}
