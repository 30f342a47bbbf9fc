//! A small blocking HTTP/1.1 client over plain TCP on loopback: the demo speaks to `porter
//! serve` exactly as any API client would, through its public routes, and needs no HTTP stack
//! of its own.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::Failure;

/// How long one request may take before the demo gives up.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The server's API at `http://host:port`.
#[derive(Clone, Debug)]
pub struct Api {
    authority: String,
}

/// One answer: the status and the JSON body (Null if the body is not JSON).
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON.
    pub body: Value,
}

impl Reply {
    /// The error code of a refusal (`{"code", "message"}`), or "".
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The error message of a refusal, or "".
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
}

impl Api {
    /// The API at `base`, an `http://127.0.0.1:port` URL as `porter serve` prints it.
    pub fn new(base: &str) -> Result<Api, Failure> {
        let authority =
            base.strip_prefix("http://").filter(|a| !a.is_empty() && !a.contains('/')).ok_or_else(
                || Failure::new(format!("the server's address {base:?} is not http://host:port")),
            )?;
        Ok(Api { authority: authority.to_string() })
    }

    /// The base URL.
    pub fn base(&self) -> String {
        format!("http://{}", self.authority)
    }

    /// Sends one request with a bearer `token` and an optional JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Failure> {
        let what = format!("{method} {path}");
        let body = body.map(Value::to_string).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer \
             {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.authority,
            body.len()
        );
        let (status, body) = self.exchange(&what, &head, &body)?;
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Reply { status, body })
    }

    /// Fetches a web page as a browser without cookies would (no token): its status and HTML.
    pub fn page(&self, path: &str) -> Result<(u16, String), Failure> {
        let what = format!("GET {path}");
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: text/html\r\n\r\n",
            self.authority
        );
        let (status, body) = self.exchange(&what, &head, "")?;
        let body = String::from_utf8(body)
            .map_err(|_| Failure::new(format!("{what}: the page is not UTF-8")))?;
        Ok((status, body))
    }

    /// Sends one request (`head` and `body`) on a fresh connection; the status and body.
    fn exchange(&self, what: &str, head: &str, body: &str) -> Result<(u16, Vec<u8>), Failure> {
        let mut stream = TcpStream::connect(&self.authority).map_err(|e| {
            Failure::new(format!("{what}: cannot reach the server at {}: {e}", self.authority))
        })?;
        let io = |e: std::io::Error| Failure::new(format!("{what}: {e}"));
        stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
        stream.write_all(head.as_bytes()).map_err(io)?;
        stream.write_all(body.as_bytes()).map_err(io)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(io)?;
        parse(&raw).ok_or_else(|| Failure::new(format!("{what}: the server's answer is not HTTP")))
    }

    /// Like [`Api::call`], but a status other than 2xx is a failure of the demo.
    pub fn ok(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let r = self.call(method, path, token, body)?;
        if !(200..300).contains(&r.status) {
            return Err(Failure::new(format!(
                "{method} {path} was refused: {} {}: {}",
                r.status,
                r.code(),
                r.message()
            )));
        }
        Ok(r.body)
    }
}

fn parse(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..split)?).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = raw.get(split + 4..)?.to_vec();
    if head.lines().any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked")) {
        body = dechunk(&body)?;
    }
    Some((status, body))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(data.get(..end)?).ok()?.trim(), 16).ok()?;
        data = data.get(end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
