//! Matching: the faces a node holds (each alert's photo, each found child's), and which of them lie within a
//! threshold of a new face. A scan of every face held, in one contiguous array, so a query is one pass over
//! memory (128 numbers a face): at 100,000 faces, 51 MB read once.

use std::collections::HashMap;
use std::hash::Hash;

use crate::recognition::Embedding;

/// The numbers in a face's embedding.
pub const DIMENSIONS: usize = 128;

/// A face held, within the threshold of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Match<K> {
    pub key: K,
    pub distance: f32,
}

/// The faces held, by key.
#[derive(Debug)]
pub struct Gallery<K> {
    keys: Vec<K>,
    values: Vec<f32>,
    at: HashMap<K, usize>,
}

impl<K: Clone + Eq + Hash> Default for Gallery<K> {
    fn default() -> Self {
        Gallery {
            keys: Vec::new(),
            values: Vec::new(),
            at: HashMap::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> Gallery<K> {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Holds `embedding` under `key`, in place of any it held there.
    pub fn insert(&mut self, key: K, embedding: &Embedding) {
        assert_eq!(embedding.0.len(), DIMENSIONS, "a 128-number embedding");
        match self.at.get(&key) {
            Some(&i) => self.values[i * DIMENSIONS..][..DIMENSIONS].copy_from_slice(&embedding.0),
            None => {
                self.at.insert(key.clone(), self.keys.len());
                self.keys.push(key);
                self.values.extend_from_slice(&embedding.0);
            }
        }
    }

    /// Lets go of the face under `key` (the last face takes its place).
    pub fn remove(&mut self, key: &K) -> bool {
        let Some(i) = self.at.remove(key) else {
            return false;
        };
        let last = self.keys.len() - 1;
        if i != last {
            self.keys.swap(i, last);
            let (head, tail) = self.values.split_at_mut(last * DIMENSIONS);
            head[i * DIMENSIONS..][..DIMENSIONS].copy_from_slice(&tail[..DIMENSIONS]);
            self.at.insert(self.keys[i].clone(), i);
        }
        self.keys.pop();
        self.values.truncate(last * DIMENSIONS);
        true
    }

    /// The faces within `threshold` of `query`, nearest first.
    pub fn within(&self, query: &Embedding, threshold: f32) -> Vec<Match<K>> {
        assert_eq!(query.0.len(), DIMENSIONS, "a 128-number embedding");
        let limit = threshold * threshold;
        let mut found: Vec<Match<K>> = self
            .values
            .chunks_exact(DIMENSIONS)
            .zip(&self.keys)
            .filter_map(|(face, key)| {
                let squared: f32 = face
                    .iter()
                    .zip(&query.0)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                (squared <= limit).then(|| Match {
                    key: key.clone(),
                    distance: squared.sqrt(),
                })
            })
            .collect();
        found.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(seed: u32) -> Embedding {
        Embedding(
            (0..DIMENSIONS as u32)
                .map(|i| ((i * 31 + seed * 17) % 97) as f32 / 97.0)
                .collect(),
        )
    }

    #[test]
    fn the_faces_within_the_threshold_nearest_first_through_changes() {
        let mut g = Gallery::default();
        for k in 0..50u32 {
            g.insert(k, &face(k));
        }
        let mut near = face(7);
        near.0[0] += 0.1;
        let found = g.within(&near, 0.2);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, 7);
        assert!((found[0].distance - 0.1).abs() < 1e-5);
        // Every face is within a wide threshold, nearest first.
        let all = g.within(&face(7), 100.0);
        assert_eq!(all.len(), 50);
        assert_eq!(all[0].key, 7);
        assert!(all.windows(2).all(|w| w[0].distance <= w[1].distance));
        // Removed faces are not found; the face moved into the gap still is; replacing keeps one face a key.
        assert!(g.remove(&7));
        assert!(!g.remove(&7));
        assert!(g.within(&near, 0.2).is_empty());
        assert_eq!(g.within(&face(49), 0.01)[0].key, 49);
        g.insert(3, &face(40));
        assert_eq!(g.len(), 49);
        let twins: Vec<u32> = g
            .within(&face(40), 0.01)
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert_eq!(twins.len(), 2);
        assert!(twins.contains(&3) && twins.contains(&40));
    }
}
