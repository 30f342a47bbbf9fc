//! The server's one HTTP client: reqwest (hyper underneath, rustls with ring, no system proxy,
//! no redirects), used for webhook delivery ([`WebhookClient`]) and by the tests and tools
//! ([`request`]). Webhook receivers may be `http://` or `https://`.
//!
//! Webhook targets are guarded ([`Targets`]): addresses are checked where the connection is
//! made, and the receiver's answer is read only up to [`MAX_ANSWER`] bytes, so a receiver can
//! neither point the server inward nor fill its memory.

mod targets;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use self::targets::GuardedResolver;
pub use self::targets::{is_public, Cidr, RefusedTarget, Targets};

/// The most of a receiver's answer a webhook delivery reads (for the log); the rest is dropped
/// unread with the connection.
pub const MAX_ANSWER: usize = 4096;

/// Why a request failed.
#[derive(Debug)]
pub enum Error {
    /// The URL is not an absolute `http(s)://` URL we will send to.
    InvalidUrl(String),
    /// The target is not a permitted address (webhooks only).
    RefusedTarget(String),
    /// No answer within the time limit.
    Timeout,
    /// Connecting, TLS, or the exchange failed.
    Transport(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            Error::RefusedTarget(m) => f.write_str(m),
            Error::Timeout => f.write_str("request timed out"),
            Error::Transport(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout;
        }
        // The resolver's refusal arrives wrapped in the connector's error: surface it.
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if let Some(r) = s.downcast_ref::<RefusedTarget>() {
                return Error::RefusedTarget(r.to_string());
            }
            source = s.source();
        }
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        Error::Transport(message)
    }
}

/// A response: status and body.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body bytes (for webhooks, at most [`MAX_ANSWER`]).
    pub body: Vec<u8>,
}

impl Response {
    /// The body parsed as JSON (Null if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Parses a webhook URL: absolute `http://` or `https://` with a host, no credentials, at
/// most 2000 characters.
pub fn webhook_url(url: &str) -> Result<Url, Error> {
    if url.len() > 2000 {
        return Err(Error::InvalidUrl("longer than 2000 characters".into()));
    }
    let parsed = Url::parse(url).map_err(|e| Error::InvalidUrl(format!("{url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::InvalidUrl(format!("{url:?}: use http:// or https://")));
    }
    if parsed.host().is_none() {
        return Err(Error::InvalidUrl(format!("{url:?} has no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::InvalidUrl(format!("{url:?}: no credentials in the URL")));
    }
    Ok(parsed)
}

fn header_map(headers: &[(&str, &str)]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| Error::InvalidUrl(format!("bad header name {k:?}")))?;
        let value = HeaderValue::from_bytes(v.as_bytes())
            .map_err(|_| Error::InvalidUrl(format!("bad value for header {k}")))?;
        map.append(name, value);
    }
    Ok(map)
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
}

/// Sends one request to any address and reads the whole answer (for tests and tools: no
/// target guard). A fresh client per call, so that it works from any tokio runtime.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, Error> {
    let url = Url::parse(url).map_err(|e| Error::InvalidUrl(format!("{url:?}: {e}")))?;
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| Error::InvalidUrl(format!("bad method {method:?}")))?;
    let client = builder(timeout).build()?;
    let answer = client
        .request(method, url)
        .headers(header_map(headers)?)
        .body(body.to_vec())
        .send()
        .await?;
    let status = answer.status().as_u16();
    let body = answer.bytes().await?.to_vec();
    Ok(Response { status, body })
}

/// The webhook sender: guarded targets, bounded answers, one connection pool.
#[derive(Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
    targets: Arc<Targets>,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient").field("targets", &self.targets).finish()
    }
}

impl WebhookClient {
    /// A client reaching `targets`, giving up on a receiver after `timeout`.
    pub fn new(targets: Targets, timeout: Duration) -> Result<WebhookClient, Error> {
        let targets = Arc::new(targets);
        let client = builder(timeout)
            .dns_resolver(Arc::new(GuardedResolver { targets: targets.clone() }))
            .user_agent(concat!("porter-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(WebhookClient { client, targets })
    }

    /// The addresses this client reaches.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Whether a URL's literal address (if it has one) is permitted; names are checked when
    /// they are resolved.
    pub fn check_literal(&self, url: &Url) -> Result<(), Error> {
        // The URL parser has normalised literal addresses (`0x7f.1` is `127.0.0.1`); IPv6
        // ones come bracketed.
        let host = url.host_str().unwrap_or_default();
        let ip: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
        match ip {
            Some(ip) if !self.targets.permits(ip) => Err(Error::RefusedTarget(
                RefusedTarget { host: ip.to_string(), addresses: vec![ip] }.to_string(),
            )),
            _ => Ok(()),
        }
    }

    /// POSTs `body` to `url`; reads at most [`MAX_ANSWER`] bytes of the answer.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Response, Error> {
        let url = webhook_url(url)?;
        self.check_literal(&url)?;
        let mut answer =
            self.client.post(url).headers(header_map(headers)?).body(body).send().await?;
        let status = answer.status().as_u16();
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER {
            match answer.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_ANSWER - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                // The status is the answer; a body cut short or slow does not change it.
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Response { status, body })
    }
}
