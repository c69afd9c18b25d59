//! What the peer benchmark (`benches/peers.rs`) puts on the wire: a blocking keep-alive HTTP/1.1 client, and a
//! relay that every byte between two nodes passes through and is counted by.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One keep-alive HTTP/1.1 connection, blocking. Reads answers with a `Content-Length` or in chunks.
#[derive(Debug)]
pub struct Http {
    reader: BufReader<TcpStream>,
    host: String,
    token: String,
}

/// An answer: its status and body.
pub type Answer = (u16, Vec<u8>);

impl Http {
    /// Connects to `addr`; `token`, when not empty, is sent as a bearer token with every request.
    pub fn open(addr: SocketAddr, token: &str) -> std::io::Result<Http> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Http {
            reader: BufReader::new(stream),
            host: addr.to_string(),
            token: token.to_owned(),
        })
    }

    /// Sends one request with a JSON body (none when empty) and reads the whole answer.
    pub fn request(&mut self, method: &str, path: &str, body: &str) -> std::io::Result<Answer> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if !self.token.is_empty() {
            head.push_str(&format!("Authorization: Bearer {}\r\n", self.token));
        }
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut line = String::new();
        self.read_line(&mut line)?;
        let status: u16 = line
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("not an HTTP status line: {line:?}")))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.read_line(&mut line)?;
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.parse::<usize>().map_err(|e| bad(e.to_string()))?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| bad(format!("a chunk size: {line:?}")))?;
                let start = body.len();
                body.resize(start + size, 0);
                self.reader.read_exact(&mut body[start..])?;
                line.clear();
                self.read_line(&mut line)?;
                if size == 0 {
                    break;
                }
            }
        } else {
            body.resize(length.unwrap_or(0), 0);
            self.reader.read_exact(&mut body)?;
        }
        Ok((status, body))
    }

    fn read_line(&mut self, line: &mut String) -> std::io::Result<()> {
        if self.reader.read_line(line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// Follows a streamed answer (server-sent events, a changes feed): sends `GET path` to `addr`, calls `opened` once
/// the answer's head has arrived (the server is then following what it streams: what happens after that is in the
/// stream), then `each` with every line of the body and the time it arrived, until `each` returns false or the
/// stream ends.
pub fn follow(
    addr: SocketAddr,
    path: &str,
    opened: impl FnOnce(),
    mut each: impl FnMut(&str, Instant) -> bool,
) {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    if write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .is_err()
    {
        return;
    }
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut chunked = false;
    // The head: a status line, headers, an empty line.
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            opened();
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("transfer-encoding")
        {
            chunked = value.trim().eq_ignore_ascii_case("chunked");
        }
    }
    let mut text = String::new();
    loop {
        let at;
        if chunked {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let Ok(size) = usize::from_str_radix(line.trim(), 16) else {
                return;
            };
            if size == 0 {
                return;
            }
            let mut chunk = vec![0u8; size + 2];
            if reader.read_exact(&mut chunk).is_err() {
                return;
            }
            at = Instant::now();
            text.push_str(&String::from_utf8_lossy(&chunk[..size]));
        } else {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            at = Instant::now();
            text.push_str(&line);
        }
        while let Some(end) = text.find('\n') {
            let whole: String = text.drain(..=end).collect();
            if !each(whole.trim_end_matches(['\r', '\n']), at) {
                return;
            }
        }
    }
}

/// Follows a Hifazat node's live event stream of alerts (`GET /api/v1/events?kind=alert`): calls `opened` once the
/// node follows its changes for this stream, then `each` with the record of every change it announces and the time
/// its event arrived, until `each` returns false or the node closes the stream.
pub fn follow_alerts(
    addr: SocketAddr,
    opened: impl FnOnce(),
    mut each: impl FnMut(String, Instant) -> bool,
) {
    let mut event = String::new();
    follow(addr, "/api/v1/events?kind=alert", opened, |line, at| {
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_owned();
        } else if let Some(data) = line.strip_prefix("data: ")
            && event == "change"
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(data)
            && let Some(record) = v["record"].as_str()
        {
            return each(record.to_owned(), at);
        }
        true
    });
}

fn bad(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

/// Which node a relay route leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// A relay on loopback: each route listens on one address and joins every connection made to it with a new one
/// to its target, copying both ways and counting the bytes by direction (A to B, B to A).
#[derive(Debug)]
pub struct Relay {
    stopping: Arc<AtomicBool>,
    counts: Arc<[AtomicU64; 2]>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    listening: Vec<SocketAddr>,
}

impl Relay {
    /// Starts a route for each `(listen, target, side of target)`.
    pub fn start(routes: &[(SocketAddr, SocketAddr, Side)]) -> std::io::Result<Relay> {
        let relay = Relay {
            stopping: Arc::new(AtomicBool::new(false)),
            counts: Arc::new([AtomicU64::new(0), AtomicU64::new(0)]),
            streams: Arc::new(Mutex::new(Vec::new())),
            listening: routes.iter().map(|r| r.0).collect(),
        };
        for &(listen, target, side) in routes {
            let listener = TcpListener::bind(listen)?;
            let stopping = relay.stopping.clone();
            let counts = relay.counts.clone();
            let streams = relay.streams.clone();
            std::thread::spawn(move || {
                for incoming in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(incoming) = incoming else { continue };
                    let Ok(outgoing) = TcpStream::connect_timeout(&target, Duration::from_secs(5))
                    else {
                        continue; // the target is down: the dialler sees the connection close
                    };
                    let _ = incoming.set_nodelay(true);
                    let _ = outgoing.set_nodelay(true);
                    // Bytes from the target go away from its side.
                    let (from_target, to_target) = match side {
                        Side::A => (0, 1),
                        Side::B => (1, 0),
                    };
                    let (Ok(a), Ok(b), Ok(c), Ok(d)) = (
                        incoming.try_clone(),
                        outgoing.try_clone(),
                        incoming.try_clone(),
                        outgoing.try_clone(),
                    ) else {
                        continue;
                    };
                    if let Ok(mut held) = streams.lock() {
                        held.push(c);
                        held.push(d);
                    }
                    let up = counts.clone();
                    std::thread::spawn(move || pipe(incoming, outgoing, &up[to_target]));
                    let down = counts.clone();
                    std::thread::spawn(move || pipe(b, a, &down[from_target]));
                }
            });
        }
        Ok(relay)
    }

    /// Bytes relayed so far: (A to B, B to A).
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.counts[0].load(Ordering::SeqCst),
            self.counts[1].load(Ordering::SeqCst),
        )
    }

    /// Starts the counts again from zero.
    pub fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::SeqCst);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake each accept loop so it sees the flag.
        for addr in &self.listening {
            let _ = TcpStream::connect_timeout(addr, Duration::from_millis(200));
        }
        if let Ok(held) = self.streams.lock() {
            for s in held.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Copies `from` to `to` until either closes, counting into `count`.
fn pipe(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
                count.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
