//! The bench's HTTP client: JSON calls against the real API, with the answer's status and error
//! code kept for the report.

use std::time::Duration;

use serde_json::Value;

/// One answer: status and parsed JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
}

impl Answer {
    /// The error code a failed answer names (`{"code"}`), or `http_<status>`.
    pub fn code(&self) -> String {
        match self.body["code"].as_str() {
            Some(code) => code.to_string(),
            None => format!("http_{}", self.status),
        }
    }
}

/// A pooled HTTP/1.1 client for one server.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// A client for `base` (`http://host:port`) keeping up to `connections` idle connections.
    pub fn new(base: &str, connections: usize) -> Result<Api, String> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Api { base: base.trim_end_matches('/').to_string(), client })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request; a transport failure is an `Err` naming it.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| format!("{path}: {e}"))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    /// A call that must succeed during setup; its JSON answer.
    pub async fn expect(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let answer = self.call(method, path, Some(token), body.as_ref()).await?;
        if answer.status >= 300 {
            return Err(format!(
                "setup: {method} {path} answered {}: {}",
                answer.status, answer.body
            ));
        }
        Ok(answer.body)
    }
}

/// `value[field]` as a string, or an error naming what was missing.
pub fn field(value: &Value, name: &str) -> Result<String, String> {
    value[name]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("setup: the answer has no {name:?}: {value}"))
}
