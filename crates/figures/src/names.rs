//! The names cells count under (stages, categories, yes-or-no facts, durations), each held as a one-byte code so
//! a cell's counts take a few bytes each. Codes are given out in the order names are first seen and are never
//! stored: a cell is stored with the names themselves (`codec`), so codes may differ between runs.

use std::sync::RwLock;

/// Names a process may know at most. Today's vocabulary is about thirty; a stored cell naming more than this is
/// refused as damaged rather than growing without bound.
pub const NAMES_MAX: usize = 255;

static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// The code of `name`, given out now if it is new; `None` when the vocabulary is full.
pub fn code(name: &str) -> Option<u8> {
    if let Some(c) = NAMES
        .read()
        .expect("names lock")
        .iter()
        .position(|n| *n == name)
    {
        return Some(c as u8);
    }
    let mut names = NAMES.write().expect("names lock");
    if let Some(c) = names.iter().position(|n| *n == name) {
        return Some(c as u8);
    }
    if names.len() >= NAMES_MAX {
        return None;
    }
    // Leaked once per distinct name, and names are bounded: at most `NAMES_MAX` short strings per process.
    names.push(Box::leak(name.to_owned().into_boxed_str()));
    Some((names.len() - 1) as u8)
}

/// The code of a name this crate counts (its own vocabulary, far under the bound).
pub(crate) fn known(name: &str) -> u8 {
    code(name).expect("the figures' own names fit the vocabulary")
}

/// The name of a code given out by [`code`].
pub fn name(code: u8) -> &'static str {
    NAMES.read().expect("names lock")[usize::from(code)]
}

/// Counts by name: a short vector sorted by code, with no zero counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(Vec<(u8, u32)>);

impl Counts {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> u64 {
        code(name)
            .and_then(|c| self.0.iter().find(|(k, _)| *k == c))
            .map_or(0, |(_, n)| u64::from(*n))
    }

    /// Every name with its count.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.0.iter().map(|(c, n)| (name(*c), u64::from(*n)))
    }

    pub(crate) fn add(&mut self, code: u8, n: u32) {
        match self.0.binary_search_by_key(&code, |(c, _)| *c) {
            Ok(i) => self.0[i].1 += n,
            Err(i) => self.0.insert(i, (code, n)),
        }
    }

    /// Takes one away from `code`, which must have been counted.
    pub(crate) fn take_one(&mut self, code: u8) {
        let i = self
            .0
            .binary_search_by_key(&code, |(c, _)| *c)
            .expect("a count taken away was added");
        self.0[i].1 -= 1;
        if self.0[i].1 == 0 {
            self.0.remove(i);
        }
    }

    pub(crate) fn merge(&mut self, other: &Counts) {
        for (c, n) in &other.0 {
            self.add(*c, *n);
        }
    }

    pub(crate) fn raw(&self) -> &[(u8, u32)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_codes_and_counts_their_order() {
        let a = code("figures-test-a").unwrap();
        assert_eq!(code("figures-test-a"), Some(a));
        assert_eq!(name(a), "figures-test-a");
        let mut c = Counts::default();
        let b = code("figures-test-b").unwrap();
        c.add(b, 2);
        c.add(a, 1);
        c.add(b, 1);
        assert_eq!(c.get("figures-test-b"), 3);
        assert!(c.raw().windows(2).all(|w| w[0].0 < w[1].0));
        c.take_one(a);
        assert_eq!(c.get("figures-test-a"), 0);
        assert_eq!(c.iter().count(), 1);
    }
}
