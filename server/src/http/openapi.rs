//! The endpoint table and the OpenAPI document built from it.

// ---------------------------------------------------------------------------------------------
// The endpoints. Each names the roles that may call it (the authorisation matrix test reads
// this table and checks every other role is refused).

/// One endpoint of the API.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Roles allowed to call it (within their own scope).
    pub roles: &'static [&'static str],
}

macro_rules! ep {
    ($m:literal, $p:literal, $s:literal, [$($r:literal),*]) => {
        Endpoint { method: $m, path: $p, summary: $s, roles: &[$($r),*] }
    };
}

/// Every endpoint under `/v1`.
pub const ENDPOINTS: &[Endpoint] = &[
    ep!(
        "POST",
        "/v1/tokens",
        "Create an API token for a role within your scope",
        ["operator", "manager", "carrier"]
    ),
    ep!(
        "GET",
        "/v1/tokens",
        "List the API tokens within your scope (never their secrets)",
        ["operator", "manager", "carrier"]
    ),
    ep!(
        "POST",
        "/v1/tokens/{token_id}/revoke",
        "Revoke a token within your scope, or your own",
        ["operator", "manager", "carrier", "driver", "resident", "device"]
    ),
    ep!("POST", "/v1/sites", "Create a site from its root public key", ["operator"]),
    ep!("GET", "/v1/sites", "List sites", ["operator", "manager"]),
    ep!(
        "GET",
        "/v1/sites/{site_id}",
        "Read a site",
        ["operator", "manager", "resident", "device", "carrier", "driver"]
    ),
    ep!("POST", "/v1/sites/{site_id}/doors", "Enrol a door (root-signed enrolment)", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/doors", "List doors", ["manager"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/issuers",
        "Make an issuer key to be certified by the root",
        ["manager"]
    ),
    ep!("GET", "/v1/sites/{site_id}/issuers", "List issuer keys", ["manager"]),
    ep!(
        "PUT",
        "/v1/sites/{site_id}/issuers/{issuer_id}/certificate",
        "Upload a root-signed issuer certificate",
        ["manager"]
    ),
    ep!("POST", "/v1/carriers", "Create a carrier", ["operator"]),
    ep!("GET", "/v1/carriers", "List carriers", ["operator", "manager", "carrier"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/approvals",
        "Approve a carrier at a site with limits",
        ["manager"]
    ),
    ep!("GET", "/v1/sites/{site_id}/approvals", "List approvals", ["manager"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/approvals/{approval_id}/withdraw",
        "Withdraw an approval",
        ["manager"]
    ),
    ep!(
        "POST",
        "/v1/drivers/challenges",
        "Get a one-time challenge for a driver's phone to sign",
        ["carrier"]
    ),
    ep!(
        "POST",
        "/v1/drivers",
        "Register a driver's holder key, with the phone's signature over a challenge",
        ["carrier"]
    ),
    ep!("GET", "/v1/drivers", "List drivers", ["carrier"]),
    ep!("POST", "/v1/drivers/{driver_id}/revoke", "Retire a driver at every site", ["carrier"]),
    ep!("POST", "/v1/sites/{site_id}/units", "Create a unit", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/units", "List units", ["manager"]),
    ep!("POST", "/v1/sites/{site_id}/units/{unit_id}/residents", "Add a resident", ["manager"]),
    ep!(
        "DELETE",
        "/v1/residents/{resident_id}",
        "Remove a resident (their tokens are revoked)",
        ["manager"]
    ),
    ep!("GET", "/v1/me", "Read your resident profile", ["resident"]),
    ep!("PUT", "/v1/me/opt-out", "Refuse or accept in-building delivery", ["resident"]),
    ep!("GET", "/v1/me/notifications", "Read your notifications", ["resident"]),
    ep!("POST", "/v1/deliveries", "Announce a delivery", ["carrier"]),
    ep!(
        "GET",
        "/v1/deliveries",
        "List deliveries (carrier: own; resident: own unit)",
        ["carrier", "driver", "resident"]
    ),
    ep!(
        "GET",
        "/v1/deliveries/{delivery_id}",
        "Read a delivery",
        ["carrier", "driver", "resident", "manager"]
    ),
    ep!("POST", "/v1/deliveries/{delivery_id}/cancel", "Cancel a delivery", ["carrier"]),
    ep!("POST", "/v1/deliveries/{delivery_id}/grants", "Ask for a grant at the door", ["driver"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/revocations",
        "Revoke an issuer, driver or grant",
        ["manager"]
    ),
    ep!(
        "GET",
        "/v1/sites/{site_id}/revocations",
        "The pending deny-list for `porter-root sign-state`",
        ["manager"]
    ),
    ep!("POST", "/v1/sites/{site_id}/door-states", "Upload a root-signed door state", ["manager"]),
    ep!(
        "GET",
        "/v1/sites/{site_id}/door-states/latest",
        "The newest door state to carry to doors",
        ["manager", "device", "carrier", "driver", "operator"]
    ),
    ep!("POST", "/v1/sites/{site_id}/webhooks", "Add a webhook endpoint", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/alarms", "List alarms", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/grants", "List grants issued at the site", ["manager"]),
    ep!(
        "GET",
        "/v1/sites/{site_id}/entries",
        "The access log: carrier, door, time",
        ["manager", "resident", "operator"]
    ),
    ep!(
        "GET",
        "/v1/sites/{site_id}/policy",
        "The delivery-access policy residents see",
        ["manager", "resident", "operator"]
    ),
    ep!("POST", "/v1/receipts", "Upload a door's signed receipt", ["driver", "device"]),
    ep!(
        "POST",
        "/v1/audit-batches",
        "Upload a run of a door's log and its signed head",
        ["driver", "device"]
    ),
];

/// The OpenAPI 3.1 document, built from [`ENDPOINTS`].
pub fn openapi() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for e in ENDPOINTS {
        let params: Vec<serde_json::Value> = e
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| serde_json::json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = serde_json::json!({
            "summary": e.summary,
            "description": format!("Roles: {}.", e.roles.join(", ")),
            "security": [{"bearer": []}],
            "parameters": params,
            "responses": {
                "200": {"description": "OK"},
                "201": {"description": "Created"},
                "4XX": {"description": "Refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if e.method == "POST" || e.method == "PUT" {
            let mut media = serde_json::json!({"schema": {"type": "object"}});
            if let Some(example) = example_body(e.method, e.path) {
                media["example"] = example;
            }
            op["requestBody"] = serde_json::json!({"content": {"application/json": media}});
            if let Some(params) = op["parameters"].as_array_mut() {
                params.push(serde_json::json!({
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string"},
                }));
            }
        }
        let entry = paths.entry(e.path.to_string()).or_insert_with(|| serde_json::json!({}));
        entry[e.method.to_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "Porter server", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}},
        },
    })
}

/// An example request body per creating endpoint, for the OpenAPI document.
fn example_body(method: &str, path: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match (method, path) {
        ("POST", "/v1/tokens") => {
            json!({"role": "manager", "site_id": "site_…", "label": "front desk"})
        }
        ("POST", "/v1/sites") => {
            json!({"name": "12 Rue Exemple", "site_number": 12345, "root_key": "<64 hex>", "zone": "CET-1CEST,M3.5.0,M10.5.0/3"})
        }
        ("POST", "/v1/sites/{site_id}/doors") => {
            json!({"name": "street door", "enrolment": "<hex from porter-root enroll-device>"})
        }
        ("PUT", "/v1/sites/{site_id}/issuers/{issuer_id}/certificate") => {
            json!({"certificate": "<hex from porter-root certify-issuer>"})
        }
        ("POST", "/v1/carriers") => json!({"name": "Rapid Parcel"}),
        ("POST", "/v1/sites/{site_id}/approvals") => {
            json!({"carrier_id": "car_…", "issuer_id": "iss_…", "doors": [1], "max_uses": 2, "max_lifetime_minutes": 15})
        }
        ("POST", "/v1/drivers") => {
            json!({"holder_key": "<64 hex>", "label": "van 7", "challenge": "<64 hex>", "signature": "<128 hex>"})
        }
        ("POST", "/v1/sites/{site_id}/units") => json!({"label": "4B"}),
        ("POST", "/v1/sites/{site_id}/units/{unit_id}/residents") => {
            json!({"display_name": "A. Martin"})
        }
        ("PUT", "/v1/me/opt-out") => json!({"opted_out": true}),
        ("POST", "/v1/deliveries") => {
            json!({"site_id": "site_…", "unit": "4B", "tracking_number": "1Z999AA10123456784", "window_start": 1795435200, "window_end": 1795442400})
        }
        ("POST", "/v1/deliveries/{delivery_id}/grants") => {
            json!({"uses": 1, "lifetime_minutes": 10, "doors": [1]})
        }
        ("POST", "/v1/sites/{site_id}/revocations") => json!({"kind": "driver", "id": "drv_…"}),
        ("POST", "/v1/sites/{site_id}/door-states") => {
            json!({"state": "<hex from porter-root sign-state>"})
        }
        ("POST", "/v1/sites/{site_id}/webhooks") => {
            json!({"url": "http://resident-app.internal:8080/porter"})
        }
        ("POST", "/v1/receipts") => {
            json!({"site_id": "site_…", "door_number": 1, "receipt": "<hex>"})
        }
        ("POST", "/v1/audit-batches") => {
            json!({"site_id": "site_…", "door_number": 1, "records": ["<hex>"], "head": "<hex>"})
        }
        _ => return None,
    })
}
