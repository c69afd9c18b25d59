//! A TensorFlow.js weights manifest (`*-weights_manifest.json`: groups of named, shaped weights and the binary
//! shards that hold them in order) and its shards, read into named `f32` arrays. Weights quantised to 8 bits
//! (`quantization: {dtype: "uint8", scale, min}`) are expanded as `min + scale × q`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("the weights manifest is not readable JSON: {0}")]
    Manifest(String),
    #[error("weight `{name}`: {why}")]
    Weight { name: String, why: String },
    #[error("the shards hold {have} bytes; the manifest needs {need}")]
    Size { have: usize, need: usize },
    #[error("no weight `{0}`")]
    Missing(String),
}

#[derive(Debug, Deserialize)]
struct Group {
    weights: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    #[serde(default)]
    quantization: Option<Quantization>,
}

#[derive(Debug, Deserialize)]
struct Quantization {
    dtype: String,
    scale: f32,
    min: f32,
}

/// Named weights, each with its shape.
#[derive(Debug, Default)]
pub struct Weights {
    map: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Weights {
    /// Reads a manifest and the concatenation of its shards, in the manifest's order.
    pub fn read(manifest: &[u8], shards: &[u8]) -> Result<Weights, WeightsError> {
        let groups: Vec<Group> =
            serde_json::from_slice(manifest).map_err(|e| WeightsError::Manifest(e.to_string()))?;
        let mut at = 0usize;
        let mut map = BTreeMap::new();
        for entry in groups.into_iter().flat_map(|g| g.weights) {
            let bad = |why: &str| WeightsError::Weight {
                name: entry.name.clone(),
                why: why.to_owned(),
            };
            if entry.dtype != "float32" {
                return Err(bad("only float32 weights are read"));
            }
            let count: usize = entry.shape.iter().product();
            // Bytes a value, and the 8-bit quantisation's `(scale, min)` when quantised.
            let (width, quantised) = match &entry.quantization {
                None => (4, None),
                Some(q) if q.dtype == "uint8" => (1, Some((q.scale, q.min))),
                Some(_) => return Err(bad("only 8-bit quantisation is read")),
            };
            let need = at + count * width;
            let bytes = shards.get(at..need).ok_or(WeightsError::Size {
                have: shards.len(),
                need,
            })?;
            let values = match quantised {
                None => bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                Some((scale, min)) => bytes.iter().map(|q| min + scale * f32::from(*q)).collect(),
            };
            map.insert(entry.name.clone(), (entry.shape.clone(), values));
            at = need;
        }
        if at != shards.len() {
            return Err(WeightsError::Size {
                have: shards.len(),
                need: at,
            });
        }
        Ok(Weights { map })
    }

    /// The weight `name` with its shape.
    pub fn get(&self, name: &str) -> Result<(&[usize], &[f32]), WeightsError> {
        self.map
            .get(name)
            .map(|(s, v)| (s.as_slice(), v.as_slice()))
            .ok_or_else(|| WeightsError::Missing(name.to_owned()))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_and_quantised_weights_are_read_in_order_and_sizes_are_checked() {
        let manifest = br#"[{"paths":["x.bin"],"weights":[
            {"name":"a","shape":[2],"dtype":"float32"},
            {"name":"b","shape":[3],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1.0}}]}]"#;
        let mut shards = Vec::new();
        shards.extend(1.5f32.to_le_bytes());
        shards.extend((-2.0f32).to_le_bytes());
        shards.extend([0u8, 2, 255]);
        let w = Weights::read(manifest, &shards).unwrap();
        assert_eq!(w.get("a").unwrap(), (&[2usize][..], &[1.5f32, -2.0][..]));
        assert_eq!(w.get("b").unwrap().1, &[-1.0f32, 0.0, 126.5][..]);
        assert!(matches!(w.get("c"), Err(WeightsError::Missing(_))));
        assert!(matches!(
            Weights::read(manifest, &shards[..10]),
            Err(WeightsError::Size { have: 10, need: 11 })
        ));
        assert!(matches!(
            Weights::read(manifest, &[shards.as_slice(), &[0]].concat()),
            Err(WeightsError::Size { .. })
        ));
        assert!(matches!(
            Weights::read(b"{", &shards),
            Err(WeightsError::Manifest(_))
        ));
    }
}
