//! What the load benchmarks share: a keep-alive HTTP/1.1 client on tokio, and throughput and latency figures.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection.
#[derive(Debug)]
pub struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
    token: String,
    /// A `Cookie` header's value sent with every request (an official's page session), when not empty.
    cookie: String,
}

impl Conn {
    pub async fn open(addr: SocketAddr, token: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream),
            host: addr.to_string(),
            token: token.to_owned(),
            cookie: String::new(),
        }
    }

    /// A connection that sends no token but this `Cookie` (an official's page session, from [`sign_in`]).
    pub async fn with_cookie(addr: SocketAddr, cookie: &str) -> Conn {
        let mut conn = Conn::open(addr, "").await;
        conn.cookie = cookie.to_owned();
        conn
    }

    /// Sends a request and reads the whole answer; returns the status.
    pub async fn request(&mut self, method: &str, path: &str, body: &str) -> u16 {
        self.exchange(method, path, body).await.0
    }

    /// Sends a request and reads the whole answer; returns the status and the body's length. An empty token
    /// sends no `Authorization` (the public).
    pub async fn exchange(&mut self, method: &str, path: &str, body: &str) -> (u16, usize) {
        let (status, body) = self.fetch(method, path, body).await;
        (status, body.len())
    }

    /// Sends a request and reads the whole answer; returns the status and the body.
    pub async fn fetch(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let (status, _, body) = self.send(method, path, "application/json", body).await;
        (status, body)
    }

    /// Sends a request with a body of `content_type` and reads the whole answer; returns the status, the
    /// headers (names in lower case) and the body.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        self.send_bytes(method, path, content_type, body.as_bytes())
            .await
    }

    /// [`Conn::send`] with a body of any bytes (a photo).
    pub async fn send_bytes(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut extra = String::new();
        if !self.token.is_empty() {
            extra.push_str(&format!("Authorization: Bearer {}\r\n", self.token));
        }
        if !self.cookie.is_empty() {
            extra.push_str(&format!("Cookie: {}\r\n", self.cookie));
        }
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        let status: u16 = line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let (name, value) = (name.to_ascii_lowercase(), value.trim().to_owned());
                if name == "content-length" {
                    length = value.parse().unwrap();
                }
                headers.push((name, value));
            }
        }
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body).await.unwrap();
        (status, headers, body)
    }
}

/// The value a `Set-Cookie` among `headers` gives cookie `name`.
fn set_cookie(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// Signs an official in to the pages of the node at `addr` with the sign-in form, as a browser does; the `Cookie`
/// value that carries their session.
pub async fn sign_in(addr: SocketAddr, token: &str) -> String {
    let mut conn = Conn::open(addr, "").await;
    let (status, headers, _) = conn.send("GET", "/office/sign-in", "text/plain", "").await;
    assert_eq!(status, 200, "the sign-in form");
    let csrf = set_cookie(&headers, "hifazat_csrf").expect("an anti-forgery cookie");
    conn.cookie = format!("hifazat_csrf={csrf}");
    let form = format!("csrf={csrf}&token={token}");
    let (status, headers, _) = conn
        .send(
            "POST",
            "/office/sign-in",
            "application/x-www-form-urlencoded",
            &form,
        )
        .await;
    assert_eq!(status, 303, "signing in");
    let session = set_cookie(&headers, "hz_session").expect("a session cookie");
    format!("hz_session={session}")
}

/// Throughput and latency of one phase.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn figures(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    Figures {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// Prints a phase's figures beside its baseline's.
#[allow(clippy::print_stdout)]
pub fn row(name: &str, f: Figures, base: Figures) {
    println!(
        "{name:<44} {:>9.0} req/s ({:>5.2}× of baseline)   p50 {:>6.2} ms   p99 {:>6.2} ms ({:>5.2}× of baseline)",
        f.per_second,
        f.per_second / base.per_second,
        f.p50_ms,
        f.p99_ms,
        f.p99_ms / base.p99_ms
    );
}
