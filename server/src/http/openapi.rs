//! The endpoint declaration and the OpenAPI document built from the declarations.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::service::Role;

// ---------------------------------------------------------------------------------------------
// The endpoints. Each names the roles that may call it (the authorisation matrix test reads
// this table and checks every other role is refused).

/// One endpoint of the API: everything the router, the role gate and the OpenAPI document
/// know about it, declared once beside its handler (see each resource module's `routes()`).
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Roles allowed to call it (within their own scope). A route the gate finds no
    /// declaration for is refused.
    pub roles: &'static [Role],
    /// The one success status it answers (200, or 201 for a creation).
    pub success: u16,
    /// The schema of its 2xx answer.
    pub response: Schema,
    /// The schema of the JSON body it reads, if it reads one.
    pub request: Option<Schema>,
    /// Whether it honours `Idempotency-Key`.
    pub idempotent: bool,
    /// Whether it is a list taking `limit` and `after`.
    pub paged: bool,
}

impl Endpoint {
    /// A route answering 200 with `response`, reading no body, neither paged nor idempotent:
    /// what [`super::route`]'s shapes start from.
    pub(super) fn new(
        method: &'static str,
        path: &'static str,
        summary: &'static str,
        roles: &'static [Role],
        response: Schema,
    ) -> Endpoint {
        Endpoint {
            method,
            path,
            summary,
            roles,
            success: 200,
            response,
            request: None,
            idempotent: false,
            paged: false,
        }
    }
}

/// Puts a body's schema (and those it refers to) into the document's components and returns
/// the schema to use where the body appears: one of [`body`], [`page`], [`list`].
pub type Schema = fn(&mut Components) -> Value;

/// The named schemas of the document (`#/components/schemas`).
#[derive(Debug, Default)]
pub struct Components(BTreeMap<String, Value>);

impl Components {
    fn add<T: ToSchema>(&mut self) -> Value {
        let mut refs = Vec::new();
        T::schemas(&mut refs);
        for (name, schema) in refs {
            self.0.insert(name, to_json(&schema));
        }
        self.0.insert(T::name().into_owned(), to_json(&T::schema()));
        json!({"$ref": format!("#/components/schemas/{}", T::name())})
    }
}

fn to_json(schema: &impl serde::Serialize) -> Value {
    // utoipa's schema types are plain data: serialising them cannot fail.
    let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
    bound_integers(&mut value);
    forbid_nul(&mut value);
    value
}

/// The server refuses a NUL character in any string of a body (PostgreSQL text cannot hold
/// one): a string schema without a pattern of its own says so with one.
fn forbid_nul(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            let constrained =
                ["pattern", "enum", "const", "format"].iter().any(|k| map.contains_key(*k));
            if string && !constrained {
                map.insert("pattern".into(), json!("^[^\\u0000]*$"));
            }
            map.values_mut().for_each(forbid_nul);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_nul),
        _ => {}
    }
}

/// Gives every integer schema the range of the Rust type behind it (utoipa names the type in
/// `format`, `uint8` for a `u8`): without it a client (or an API fuzzer) reading the document
/// takes 300 for a valid `max_uses`, and the server's refusal of it for a broken contract.
fn bound_integers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // utoipa spells the unsigned formats `u-int8` (its enum's kebab-case name); the
            // format registry's spelling is `uint8`.
            if let Some(Value::String(format)) = map.get_mut("format") {
                if let Some(bits) = format.strip_prefix("u-int") {
                    *format = format!("uint{bits}");
                }
            }
            let range = map.get("format").and_then(Value::as_str).and_then(|format| {
                Some(match format {
                    "int8" => (i64::from(i8::MIN), i128::from(i8::MAX)),
                    "int16" => (i64::from(i16::MIN), i128::from(i16::MAX)),
                    "int32" => (i64::from(i32::MIN), i128::from(i32::MAX)),
                    "int64" => (i64::MIN, i128::from(i64::MAX)),
                    "uint8" => (0, i128::from(u8::MAX)),
                    "uint16" => (0, i128::from(u16::MAX)),
                    "uint32" => (0, i128::from(u32::MAX)),
                    "uint64" => (0, i128::from(u64::MAX)),
                    _ => return None,
                })
            });
            if let Some((min, max)) = range {
                // An explicit `#[schema(minimum, maximum)]` is tighter: keep it.
                map.entry("minimum").or_insert(json!(min));
                map.entry("maximum").or_insert(json!(max as u64));
            }
            map.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// A body of type `T`, as its derived schema.
pub fn body<T: ToSchema>(c: &mut Components) -> Value {
    c.add::<T>()
}

/// A page of `T` (`{"items": [...], "next": "<cursor>"}`), see `Paged`.
pub fn page<T: ToSchema>(c: &mut Components) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": c.add::<T>()},
            "next": {"type": "string", "description": "Pass as `after` to get the next page; absent on the last page."},
        },
    })
}

/// A JSON array of `T`.
pub fn list<T: ToSchema>(c: &mut Components) -> Value {
    json!({"type": "array", "items": c.add::<T>()})
}

/// The body of a creation that takes no fields: `{}` (an empty body is read as `{}`); a
/// field is refused, as in every other body.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// Every endpoint under `/v1`, from the declarations the router is built of.
pub fn endpoints() -> Vec<Endpoint> {
    super::declared().into_iter().map(|d| d.endpoint).collect()
}

/// The OpenAPI 3.1 document, built from the declarations.
pub fn openapi() -> serde_json::Value {
    let mut components = Components::default();
    let error = json!({"application/json": {"schema": body::<super::ErrorBody>(&mut components)}});
    let mut paths = serde_json::Map::new();
    for e in endpoints() {
        let mut params: Vec<serde_json::Value> = e
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true,
                "schema": {"type": "string", "pattern": crate::ids::ID_PATTERN}})
            })
            .collect();
        if e.paged {
            params.push(json!({"name": "limit", "in": "query", "required": false,
                "description": "Items per page, 1..=200 (default 50).",
                "schema": {"type": "integer", "minimum": 1, "maximum": 200}}));
            params.push(json!({"name": "after", "in": "query", "required": false,
                "description": "The `next` cursor of the previous page.",
                "schema": {"type": "string"}}));
        }
        if e.idempotent {
            params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
                "description": "Repeat a creation safely: same key, method, path and body get the first answer for 24 hours; another body gets 409.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}));
        }
        let roles: Vec<&str> = e.roles.iter().map(|r| r.as_str()).collect();
        let ok_description = if e.success == 201 { "Created" } else { "OK" };
        let mut responses = serde_json::Map::new();
        responses.insert(
            e.success.to_string(),
            json!({"description": ok_description, "content": {"application/json": {"schema": (e.response)(&mut components)}}}),
        );
        for (status, what) in [
            ("400", "Malformed request"),
            ("401", "No valid API token"),
            ("403", "The token's role may not call this"),
            ("404", "No such object in your scope"),
            ("409", "Conflict with the current state"),
            ("422", "A rule refused the request"),
            ("429", "Rate limited"),
            ("503", "The server or its database failed; retry"),
        ] {
            responses.insert(status.into(), json!({"description": what, "content": error}));
        }
        let mut op = json!({
            "operationId": operation_id(&e),
            "summary": e.summary,
            "description": format!("Roles: {}.", roles.join(", ")),
            "security": [{"bearer": []}],
            "parameters": params,
            "responses": responses,
        });
        if let Some(request) = e.request {
            let mut media = json!({"schema": request(&mut components)});
            if let Some(example) = example_body(e.method, e.path) {
                media["example"] = example;
            }
            // A creation that takes no fields reads an empty body as `{}`: the body is optional.
            let required = media["schema"]["$ref"] != "#/components/schemas/NoFields";
            op["requestBody"] =
                json!({"required": required, "content": {"application/json": media}});
        }
        let entry = paths.entry(e.path.to_string()).or_insert_with(|| json!({}));
        entry[e.method.to_lowercase()] = op;
    }
    if let Some(new_token) = components.0.get_mut("NewToken") {
        new_token["allOf"] = token_scope_rules();
    }
    paths.insert(
        "/healthz".into(),
        json!({"get": {
        "operationId": "healthz", "summary": "Whether the server and its database answer",
        "security": [], "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"],
                "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}},
            "503": {"description": "The database does not answer", "content": error}}}}),
    );
    paths.insert(
        "/livez".into(),
        json!({"get": {
        "operationId": "livez", "summary": "Whether the process answers (no database: liveness)",
        "security": [], "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"],
                "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}}}}),
    );
    paths.insert(
        "/metrics".into(),
        json!({"get": {
        "operationId": "metrics", "summary": "Prometheus text; needs the configured metrics token",
        "security": [{"bearer": []}], "responses": {
            "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
            "401": {"description": "Wrong or missing metrics token", "content": error},
            "403": {"description": "A token was sent, but no metrics token is configured", "content": error}}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Porter server", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components.0,
        },
    })
}

/// `NewToken`'s rules a derived schema cannot state: each role's token needs its scope's id
/// (`"role": "manager"` needs `site_id`), as `if`/`then` pairs of JSON Schema 2020-12.
fn token_scope_rules() -> Value {
    let rules = crate::service::SCOPE_FIELD.iter().map(|(role, field, schema)| {
        json!({
            "if": {"required": ["role"], "properties": {"role": {"const": role.as_str()}}},
            "then": {"required": [field], "properties": {
                *field: {"$ref": format!("#/components/schemas/{schema}")}}},
        })
    });
    Value::Array(rules.collect())
}

/// A unique operation id: method and path words, snake_case.
fn operation_id(e: &Endpoint) -> String {
    let words: Vec<String> = e
        .path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "v1")
        .map(|s| s.trim_start_matches('{').trim_end_matches('}').replace('-', "_"))
        .collect();
    format!("{}_{}", e.method.to_lowercase(), words.join("_"))
}

/// A root-signed issuer certificate: `certificate` of spec/vectors/link.json.
const CERTIFICATE_EXAMPLE: &str = "018180dc8a058139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b39401c0b28bd806c0bc95e70600017f00a00b0355544300008407044a0df50d94c3e27c2242753c4c8c11c3b9846d9b7e3de9faf2cc0132213d285c25c9c5754222e5be524eaea224a55391b18608d4b05e5b691595d8ea34a14701";

/// An example request body per creating endpoint, for the OpenAPI document. Receipts and
/// audit batches are the door's own signed bytes, relayed as they are: no example.
fn example_body(method: &str, path: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match (method, path) {
        ("POST", "/v1/tokens") => {
            json!({"role": "manager", "site_id": "site_01a2511cfb1f3b55c40d", "label": "front desk"})
        }
        ("POST", "/v1/sites") => {
            json!({"name": "12 Rue Exemple", "site_number": 12345, "root_key": "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c", "zone": "CET-1CEST,M3.5.0,M10.5.0/3"})
        }
        // The enrolment and the door state come from `porter-root` for the site's own root
        // key: no example would be accepted anywhere else, so none is given.
        ("PUT", "/v1/sites/{site_id}/issuers/{issuer_id}/certificate") => {
            // spec/vectors/link.json's certificate (site 12345's vector root).
            json!({"certificate": CERTIFICATE_EXAMPLE})
        }
        ("POST", "/v1/carriers") => json!({"name": "Rapid Parcel"}),
        ("POST", "/v1/sites/{site_id}/approvals") => {
            json!({"carrier_id": "car_01a2511cfb2b7d1e7a31", "issuer_id": "iss_01a2511d12d506a87e47", "doors": [1], "max_uses": 2, "max_lifetime_minutes": 15})
        }
        ("POST", "/v1/drivers") => {
            json!({"holder_key": "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c",
                   "label": "van 7",
                   "challenge": "5b1d6f0c7e3a9b2d4c8e1f0a6b3d5c7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c",
                   "signature": format!("{}{}", "3c".repeat(32), "0a".repeat(32))})
        }
        ("POST", "/v1/sites/{site_id}/units") => json!({"label": "4B"}),
        ("POST", "/v1/sites/{site_id}/units/{unit_id}/residents") => {
            json!({"display_name": "A. Martin"})
        }
        ("PUT", "/v1/me/opt-out") => json!({"opted_out": true}),
        ("POST", "/v1/deliveries") => {
            json!({"site_id": "site_01a2511cfb1f3b55c40d", "unit": "4B", "tracking_number": "1Z999AA10123456784", "window_start": 1795435200, "window_end": 1795442400})
        }
        ("POST", "/v1/deliveries/{delivery_id}/grants") => {
            json!({"uses": 1, "lifetime_minutes": 10, "doors": [1]})
        }
        ("POST", "/v1/sites/{site_id}/revocations") => {
            json!({"kind": "driver", "id": "drv_01a2511d2a3b4c5d6e7f"})
        }
        ("POST", "/v1/sites/{site_id}/webhooks") => {
            json!({"url": "https://resident-app.example.com/porter"})
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{endpoints, openapi};
    use crate::service::Code;

    /// Every `$ref` under `v` names a schema the document has.
    fn refs_resolve(v: &Value, schemas: &serde_json::Map<String, Value>) -> bool {
        match v {
            Value::Object(m) => m.iter().all(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(r)) => r
                    .strip_prefix("#/components/schemas/")
                    .is_some_and(|name| schemas.contains_key(name)),
                _ => refs_resolve(v, schemas),
            }),
            Value::Array(a) => a.iter().all(|v| refs_resolve(v, schemas)),
            _ => true,
        }
    }

    /// Each operation's one success answer and its body (where it reads one) have a schema
    /// derived from a type, every error answer is the `Error` schema, and the error codes the
    /// document lists are exactly `Code::ALL`.
    #[test]
    fn every_operation_has_derived_schemas_and_the_codes_are_listed() {
        let doc = openapi();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(refs_resolve(&doc, schemas));
        for e in endpoints() {
            let op = &doc["paths"][e.path][e.method.to_lowercase()];
            let responses = op["responses"].as_object().unwrap();
            let ok = &responses[&e.success.to_string()]["content"]["application/json"]["schema"];
            let named = ok.get("$ref").or_else(|| ok["items"].get("$ref"));
            let paged = ok["properties"]["items"]["items"].get("$ref");
            assert!(named.or(paged).is_some(), "{} {}: {ok}", e.method, e.path);
            assert_eq!(
                responses.keys().filter(|s| s.starts_with('2')).count(),
                1,
                "{} {}",
                e.method,
                e.path
            );
            for (status, r) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{} {} {status}",
                    e.method,
                    e.path
                );
            }
            let body = op["requestBody"]["content"]["application/json"]["schema"].get("$ref");
            assert_eq!(body.is_some(), e.request.is_some(), "{} {}", e.method, e.path);
        }
        let listed: Vec<&str> = schemas["Code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
        assert_eq!(schemas["Error"]["properties"]["code"]["$ref"], "#/components/schemas/Code");
    }

    /// Id newtypes stay plain strings in the document, wherever they appear.
    #[test]
    fn typed_ids_are_string_schemas() {
        let doc = openapi();
        let schemas = &doc["components"]["schemas"];
        let resolve = |s: &Value| match s["$ref"].as_str() {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => s.clone(),
        };
        for (schema, field) in [
            ("ApprovalView", "id"),
            ("ApprovalView", "site_id"),
            ("Withdrawn", "withdrawn"),
            ("NotificationView", "id"),
        ] {
            let field_schema = resolve(&schemas[schema]["properties"][field]);
            assert_eq!(field_schema["type"], "string", "{schema}.{field}: {field_schema}");
        }
    }

    /// A token's role is the `Role` enum in the document (every role named), not a free string.
    #[test]
    fn a_tokens_role_is_listed_as_the_enum_of_roles() {
        let doc = openapi();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["TokenView"]["properties"]["role"]["$ref"], "#/components/schemas/Role");
        let roles = schemas["Role"]["enum"].as_array().unwrap();
        let roles: Vec<&str> = roles.iter().map(|r| r.as_str().unwrap()).collect();
        assert_eq!(roles, ["operator", "manager", "carrier", "driver", "resident", "device"]);
    }

    /// Found by Schemathesis: the document said `integer` for a `u8` and the server refused
    /// 300; a token of a role without its scope's id; NUL in strings; an issuer's creation
    /// taking any object. Each now stands in the document.
    #[test]
    fn the_document_states_what_the_server_checks_of_a_body() {
        let doc = openapi();
        let schemas = &doc["components"]["schemas"];
        let approval = &schemas["NewApproval"]["properties"];
        assert_eq!(approval["max_uses"]["maximum"], 255, "{approval}");
        assert_eq!(approval["max_lifetime_minutes"]["maximum"], u64::from(u32::MAX));
        assert_eq!(approval["doors"]["items"]["maximum"], 65_535);
        assert_eq!(schemas["NewDelivery"]["properties"]["window_start"]["format"], "int64");
        assert_eq!(schemas["NewUnit"]["properties"]["label"]["maxLength"], 64);
        assert_eq!(schemas["NewSite"]["properties"]["root_key"]["maxLength"], 64);
        let record = &schemas["AuditBatch"]["properties"]["records"];
        assert_eq!(record["maxItems"], crate::service::BATCH_MAX_RECORDS, "{record}");
        assert_eq!(record["items"]["maxLength"], 2 * porter_protocol::MAX_AUDIT_RECORD_LEN);
        let certificate = &schemas["CertificateUpload"]["properties"]["certificate"];
        assert_eq!(certificate["maxLength"], 2 * porter_protocol::MAX_CERTIFICATE_LEN);
        let state = &schemas["DoorStateUpload"]["properties"]["state"];
        assert_eq!(state["maxLength"], 2 * porter_protocol::MAX_DOOR_STATE_LEN);
        let enrolment = &schemas["NewDoor"]["properties"]["enrolment"];
        assert_eq!(enrolment["maxLength"], 2 * porter_protocol::MAX_ENROLMENT_LEN);
        let receipt = &schemas["ReceiptUpload"]["properties"]["receipt"];
        assert_eq!(receipt["maxLength"], 2 * porter_protocol::MAX_RECEIPT_LEN);
        assert_eq!(schemas["SiteId"]["pattern"], crate::ids::ID_PATTERN);
        assert_eq!(schemas["NewDelivery"]["properties"]["unit"]["pattern"], "^[^\\u0000]*$");

        let rules = schemas["NewToken"]["allOf"].as_array().unwrap();
        let manager = rules.iter().find(|r| r["if"]["properties"]["role"]["const"] == "manager");
        assert_eq!(manager.unwrap()["then"]["required"][0], "site_id");
        assert_eq!(rules.len(), crate::service::SCOPE_FIELD.len());

        let issuer = &doc["paths"]["/v1/sites/{site_id}/issuers"]["post"]["requestBody"];
        assert_eq!(issuer["required"], false);
        assert_eq!(schemas["NoFields"]["additionalProperties"], false);
        let path = &doc["paths"]["/v1/sites/{site_id}"]["get"]["parameters"][0]["schema"];
        assert_eq!(path["pattern"], crate::ids::ID_PATTERN);
    }
}
