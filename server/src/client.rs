//! A minimal HTTP/1.1 client over plain TCP: enough for webhook delivery and for the tests,
//! without pulling a second HTTP stack into the build.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The parts of an `http://host:port/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port`.
    pub authority: String,
    /// `/path?query`.
    pub path: String,
}

/// Parses an `http://` URL; None for anything else.
pub fn parse_http_url(url: &str) -> Option<HttpUrl> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || url.len() > 2000 || url.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    let authority =
        if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    Some(HttpUrl { authority, path: path.to_string() })
}

/// A response: status and body.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body parsed as JSON (Null if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends one request and reads the whole response (`Connection: close`).
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<Response> {
    let url = parse_http_url(url).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "not an http:// URL")
    })?;
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(&url.authority).await?;
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            url.path,
            url.authority,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        // A server may answer (413, say) and close before reading a large body: keep the
        // answer even if the rest of the body could not be written.
        let written = async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body).await
        }
        .await;
        let mut raw = Vec::new();
        let read = stream.read_to_end(&mut raw).await;
        if raw.is_empty() {
            written?;
            read?;
        }
        parse_response(&raw)
    })
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request timed out"))?
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split =
        raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("header not utf-8"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut body = raw[split + 4..].to_vec();
    if head.lines().any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked")) {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Response { status, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
