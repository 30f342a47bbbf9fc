//! Messages the benchmarks decode, taken from the committed vectors (`spec/vectors/`, compiled
//! in): the same bytes the protocol's and the link's tests replay.

use serde_json::Value;

const AUDIT: &str = include_str!("../../spec/vectors/audit.json");
const LINK: &str = include_str!("../../spec/vectors/link.json");

/// One accepted message of each kind the audit and link vectors hold, and the key each
/// verifies under.
pub struct Vectors {
    /// A root-signed enrolment and the root key.
    pub enrolment: (Vec<u8>, [u8; 32]),
    /// A device-signed receipt and the device key.
    pub receipt: (Vec<u8>, [u8; 32]),
    /// A device-signed log head and the device key.
    pub log_head: (Vec<u8>, [u8; 32]),
    /// The longest accepted audit chain, from its genesis.
    pub chain: Vec<Vec<u8>>,
    /// The longest accepted link request (a presentation).
    pub request: Vec<u8>,
    /// The longest accepted link answer.
    pub answer: Vec<u8>,
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("a hex string in the vectors");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex digits"))
        .collect()
}

fn key(v: &Value) -> [u8; 32] {
    hex(v).try_into().expect("a 32-byte key in the vectors")
}

impl Vectors {
    /// Reads the vectors; panics if they lack an accepted case of a kind (regenerate them with
    /// `cargo run -p porter-protocol --example gen_vectors`).
    pub fn load() -> Vectors {
        let audit: Value = serde_json::from_str(AUDIT).expect("audit.json parses");
        let cases = audit["cases"].as_array().expect("audit cases");
        let accepted = |kind: &str| {
            cases
                .iter()
                .find(|c| c["kind"] == kind && c["expect"]["code"] == 0)
                .unwrap_or_else(|| panic!("no accepted {kind} in audit.json"))
        };
        let enrolment = accepted("enrolment");
        let receipt = accepted("receipt");
        let chain = cases
            .iter()
            .filter(|c| c["kind"] == "chain" && c["expect"]["code"] == 0 && c["head"].is_string())
            .max_by_key(|c| c["records"].as_array().map_or(0, Vec::len))
            .expect("an accepted chain with a head in audit.json");
        let link: Value = serde_json::from_str(LINK).expect("link.json parses");
        let longest = |direction: &str| {
            link["messages"]
                .as_array()
                .expect("link messages")
                .iter()
                .filter(|m| m["direction"] == direction && m["expect"] == "ok")
                .map(|m| hex(&m["hex"]))
                .max_by_key(Vec::len)
                .unwrap_or_else(|| panic!("no accepted {direction} in link.json"))
        };
        Vectors {
            enrolment: (hex(&enrolment["records"][0]), key(&enrolment["key"])),
            receipt: (hex(&receipt["records"][0]), key(&receipt["key"])),
            log_head: (hex(&chain["head"]), key(&chain["key"])),
            chain: chain["records"].as_array().expect("records").iter().map(hex).collect(),
            request: longest("request"),
            answer: longest("answer"),
        }
    }
}
