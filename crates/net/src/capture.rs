//! A capture of a node's protocol traffic, for audits and tests.

/// A capture of a node's protocol traffic: per message a direction byte (`>` sent, `<` received), a kind byte
/// (`S` sync message, `G` gossip message data), the length (4 bytes, big-endian), then the bytes: a sync message
/// as it is (version 1), also when it travelled packed, so what leaves a node can be searched for in them. Written
/// and flushed message by message; for audits and tests, not for production load.
#[derive(Debug)]
pub struct Capture {
    file: std::io::BufWriter<std::fs::File>,
}

impl Capture {
    pub fn create(path: &std::path::Path) -> std::io::Result<Capture> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Capture {
            file: std::io::BufWriter::new(file),
        })
    }

    pub(super) fn record(&mut self, direction: u8, kind: u8, bytes: &[u8]) {
        use std::io::Write;
        let written = self
            .file
            .write_all(&[direction, kind])
            .and_then(|()| self.file.write_all(&(bytes.len() as u32).to_be_bytes()))
            .and_then(|()| self.file.write_all(bytes))
            .and_then(|()| self.file.flush());
        if let Err(e) = written {
            tracing::warn!(error = %e, "writing the traffic capture failed");
        }
    }

    /// Reads a capture back: (direction, kind, bytes) per message.
    pub fn read(bytes: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 6 {
            let len = u32::from_be_bytes(rest[2..6].try_into().expect("4 bytes")) as usize;
            if rest.len() < 6 + len {
                break;
            }
            out.push((rest[0], rest[1], rest[6..6 + len].to_vec()));
            rest = &rest[6 + len..];
        }
        out
    }
}
