//! A cell as stored: a version byte, then unsigned LEB128 numbers and names spelled out, so stored cells do not
//! depend on the codes a process gave its names (`names`). A cell of a busy district's all time, with hundreds
//! of buckets per duration, takes a few kilobytes; a day's cell a few dozen bytes.
//!
//! ```text
//! cell      = 0x03 records counts(status) counts(category) counts(channel) counts(flag) varint(#durations) duration*
//! counts    = varint(#) (name varint(count))*
//! name      = byte(length 1..=64) utf-8
//! duration  = name varint(n) (0x00 varint(#) sample-deltas* | 0x01 varint(#) (bucket-delta varint(count))*)
//! ```

use crate::cell::Cell;
use crate::durations::Durations;
use crate::names::{self, Counts};

/// The first byte of a stored cell (the first stored form was JSON, whose first byte is `{`; the second, `0x02`,
/// had no channels).
const VERSION: u8 = 3;
/// The longest name a stored cell may carry.
const NAME_MAX: usize = 64;

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn name(out: &mut Vec<u8>, code: u8) {
    let n = names::name(code);
    out.push(n.len() as u8);
    out.extend_from_slice(n.as_bytes());
}

fn counts(out: &mut Vec<u8>, c: &Counts) {
    varint(out, c.raw().len() as u64);
    for (code, n) in c.raw() {
        name(out, *code);
        varint(out, u64::from(*n));
    }
}

pub(crate) fn encode(cell: &Cell) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    varint(&mut out, cell.records);
    counts(&mut out, &cell.by_status);
    counts(&mut out, &cell.by_category);
    counts(&mut out, &cell.by_channel);
    counts(&mut out, &cell.flags);
    varint(&mut out, cell.durations.len() as u64);
    for (code, d) in &cell.durations {
        name(&mut out, *code);
        let (n, parts) = d.parts();
        varint(&mut out, n);
        match parts {
            Ok(samples) => {
                out.push(0);
                varint(&mut out, samples.len() as u64);
                let mut last = 0;
                for s in samples {
                    varint(&mut out, s - last);
                    last = *s;
                }
            }
            Err(buckets) => {
                out.push(1);
                varint(&mut out, buckets.len() as u64);
                let mut last = 0;
                for (b, c) in buckets {
                    varint(&mut out, u64::from(b - last));
                    varint(&mut out, u64::from(*c));
                    last = *b;
                }
            }
        }
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.varint()?).ok()
    }

    /// A length, no more than the bytes left (each item takes at least one byte).
    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.0.len()).then_some(n)
    }

    fn name(&mut self) -> Option<u8> {
        let len = usize::from(self.byte()?);
        if len == 0 || len > NAME_MAX || len > self.0.len() {
            return None;
        }
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        names::code(std::str::from_utf8(text).ok()?)
    }

    fn counts(&mut self) -> Option<Counts> {
        let mut c = Counts::default();
        for _ in 0..self.len()? {
            let code = self.name()?;
            let n = self.u32()?;
            if n == 0 {
                return None;
            }
            c.add(code, n);
        }
        Some(c)
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Option<Cell> {
    let mut r = Reader(bytes);
    if r.byte()? != VERSION {
        return None;
    }
    let mut cell = Cell {
        records: r.varint()?,
        by_status: r.counts()?,
        by_category: r.counts()?,
        by_channel: r.counts()?,
        flags: r.counts()?,
        durations: Vec::new(),
    };
    for _ in 0..r.len()? {
        let code = r.name()?;
        let n = r.varint()?;
        let parts = match r.byte()? {
            0 => {
                let mut samples = Vec::new();
                let mut last = 0u64;
                for _ in 0..r.len()? {
                    last = last.checked_add(r.varint()?)?;
                    samples.push(last);
                }
                Ok(samples)
            }
            1 => {
                let mut buckets = Vec::new();
                let mut last = 0u32;
                for i in 0..r.len()? {
                    let delta = r.u32()?;
                    if i > 0 && delta == 0 {
                        return None;
                    }
                    last = last.checked_add(delta)?;
                    buckets.push((last, r.u32()?));
                }
                Err(buckets)
            }
            _ => return None,
        };
        let d = Durations::from_parts(n, parts)?;
        match cell.durations.binary_search_by_key(&code, |(c, _)| *c) {
            Ok(_) => return None,
            Err(i) => cell.durations.insert(i, (code, d)),
        }
    }
    r.0.is_empty().then_some(cell)
}
