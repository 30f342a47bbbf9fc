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
    serde_json::to_value(schema).unwrap_or(Value::Null)
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

/// The body of a creation that takes no fields: `{}` (an empty body is read as `{}`).
#[derive(Debug, ToSchema)]
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
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
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
            op["requestBody"] = json!({"required": true, "content": {"application/json": media}});
        }
        let entry = paths.entry(e.path.to_string()).or_insert_with(|| json!({}));
        entry[e.method.to_lowercase()] = op;
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
            "403": {"description": "No metrics token configured", "content": error}}}}),
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
            json!({"name": "street door", "enrolment": "<hex from porter root enroll-device>"})
        }
        ("PUT", "/v1/sites/{site_id}/issuers/{issuer_id}/certificate") => {
            json!({"certificate": "<hex from porter root certify-issuer>"})
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
            json!({"state": "<hex from porter root sign-state>"})
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
}
