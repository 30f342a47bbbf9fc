//! The server's one HTTP client: reqwest (hyper underneath, rustls with ring, no system proxy,
//! no redirects), used for webhook delivery ([`WebhookClient`]) and by the tests and tools
//! ([`request`]). Webhook receivers may be `https://` (certificates checked against the web
//! PKI roots built into the binary plus the operator's own CAs, [`TrustedRoots`]) or, for
//! receivers on the internal ranges the operator lists, plain `http://`.
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
pub use self::targets::{is_public, Cidr, RefusedTarget, Scheme, Targets};

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
    if url.chars().count() > 2000 {
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

/// The scheme of a URL [`webhook_url`] accepted (`http` or `https`).
fn scheme_of(url: &Url) -> Scheme {
    if url.scheme() == "https" {
        Scheme::Https
    } else {
        Scheme::Http
    }
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

/// Certificate authorities trusted for `https://` webhook receivers besides the web PKI roots
/// built into the binary: an internal CA, say (`webhook_ca_file`).
#[derive(Clone, Default)]
pub struct TrustedRoots(Vec<reqwest::Certificate>);

impl std::fmt::Debug for TrustedRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedRoots({} extra)", self.0.len())
    }
}

impl TrustedRoots {
    /// No roots besides the built-in ones.
    pub fn none() -> TrustedRoots {
        TrustedRoots::default()
    }

    /// The CA certificates of a PEM bundle (one or more `BEGIN CERTIFICATE` blocks); an error
    /// if it holds none or one does not parse as a certificate.
    pub fn from_pem(pem: &[u8]) -> Result<TrustedRoots, String> {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
        if certificates.is_empty() {
            return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
        }
        let roots = TrustedRoots(certificates);
        // rustls parses each certificate only when a client is built: do it now, so that a
        // broken file stops the start instead of every delivery.
        roots
            .add_to(reqwest::Client::builder().use_rustls_tls())
            .build()
            .map_err(|e| format!("a certificate does not parse: {}", Error::from(e)))?;
        Ok(roots)
    }

    /// The CA certificates in the PEM file at `path`.
    pub fn from_pem_file(path: &std::path::Path) -> Result<TrustedRoots, String> {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        TrustedRoots::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// How many extra roots there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn add_to(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        self.0.iter().cloned().fold(builder, reqwest::ClientBuilder::add_root_certificate)
    }
}

/// The webhook sender: guarded targets, bounded answers, one connection pool per scheme.
#[derive(Clone)]
pub struct WebhookClient {
    /// `https://` receivers: public addresses and the listed ranges.
    https: reqwest::Client,
    /// Plain `http://` receivers: the listed ranges only.
    http: reqwest::Client,
    targets: Arc<Targets>,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient").field("targets", &self.targets).finish()
    }
}

impl WebhookClient {
    /// A client reaching `targets`, trusting `roots` besides the built-in web PKI roots for
    /// `https://`, giving up on a receiver after `timeout`.
    pub fn new(
        targets: Targets,
        roots: &TrustedRoots,
        timeout: Duration,
    ) -> Result<WebhookClient, Error> {
        let targets = Arc::new(targets);
        let client = |scheme: Scheme| {
            let resolver = GuardedResolver { targets: targets.clone(), scheme };
            builder(timeout)
                .dns_resolver(Arc::new(resolver))
                .user_agent(concat!("porter-webhooks/", env!("CARGO_PKG_VERSION")))
        };
        let https = roots.add_to(client(Scheme::Https)).https_only(true).build()?;
        let http = client(Scheme::Http).build()?;
        Ok(WebhookClient { https, http, targets })
    }

    /// The addresses this client reaches.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Whether a URL's literal address (if it has one) is permitted over its scheme; names
    /// are checked when they are resolved.
    pub fn check_literal(&self, url: &Url) -> Result<(), Error> {
        // The URL parser has normalised literal addresses (`0x7f.1` is `127.0.0.1`); IPv6
        // ones come bracketed.
        let host = url.host_str().unwrap_or_default();
        let ip: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
        let scheme = scheme_of(url);
        match ip {
            Some(ip) if !self.targets.permits_over(scheme, ip) => Err(Error::RefusedTarget(
                RefusedTarget { host: ip.to_string(), addresses: vec![ip], scheme }.to_string(),
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
        let client = match scheme_of(&url) {
            Scheme::Https => &self.https,
            Scheme::Http => &self.http,
        };
        let mut answer = client.post(url).headers(header_map(headers)?).body(body).send().await?;
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
