//! `hifazat faces evaluate`: how well face matching works on a node's own cases, so the threshold it suggests
//! matches at (`serve --match-threshold`) is set from local data. The models were trained on adults and are known
//! to be weaker on children; dlib's 0.6 is its adult threshold.
//!
//! Pairs known to show one child and pairs known to show two come from one of three sources: a stopped node's
//! confirmed matches (an alert's photo and the found child's photos an officer confirmed in person), a folder of
//! photos with a folder per child, or embeddings in JSON lines (for tests and for data prepared elsewhere). Every
//! two faces of one child are a true pair and every two of different children a false pair; the command prints
//! the threshold that keeps the false-match rate at the rate asked, and the share of true pairs matched at it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hifazat_faces::evaluate::{Evaluation, evaluate};
use hifazat_faces::{Embedding, Pipeline};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Measures face matching on pairs known to show one child and pairs known to show two; prints the threshold
    /// that keeps the false-match rate at --false-match-rate, the share of true pairs matched at it (the
    /// true-match rate), and both rates at dlib's 0.6. Exactly one of --data, --photos, --embeddings.
    Evaluate(EvaluateArgs),
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// A stopped node's data directory (or a copy of one): each confirmed match on it (an alert's photo and the
    /// found child's photos, confirmed in person) gives pairs of one child; an alert's photo against the photos of
    /// another child's report gives pairs of two.
    #[arg(long, conflicts_with_all = ["photos", "embeddings"])]
    data: Option<PathBuf>,
    /// A folder holding a folder per child, each with photos of that child (JPEG or PNG); the faces are found and
    /// described on this machine with the node's own models.
    #[arg(long, conflicts_with = "embeddings")]
    photos: Option<PathBuf>,
    /// JSON lines, each `{"child": "<label>", "embedding": [128 numbers]}`: descriptions made elsewhere.
    #[arg(long)]
    embeddings: Option<PathBuf>,
    /// The false-match rate to hold, from 0 to 1 (0.001: one pair of two children in a thousand taken for one).
    #[arg(long, default_value_t = 0.001, value_parser = rate)]
    false_match_rate: f64,
    /// Print the result as one JSON object instead of sentences.
    #[arg(long)]
    json: bool,
}

fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("a rate from 0 to 1".into()),
    }
}

pub fn run(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Evaluate(args) => evaluate_command(&args),
    }
}

/// Faces by child.
type Children = BTreeMap<String, Vec<Embedding>>;

fn evaluate_command(args: &EvaluateArgs) -> anyhow::Result<bool> {
    let (same, different, source) = match (&args.data, &args.photos, &args.embeddings) {
        (Some(data), None, None) => {
            let (same, different) = from_node(data)?;
            (
                same,
                different,
                format!("the confirmed matches at {}", data.display()),
            )
        }
        (None, Some(dir), None) => {
            let children = from_photos(dir)?;
            let (s, d) = pairs(&children);
            (
                s,
                d,
                format!("{} children's photos in {}", children.len(), dir.display()),
            )
        }
        (None, None, Some(file)) => {
            let children = from_embeddings(file)?;
            let (s, d) = pairs(&children);
            (
                s,
                d,
                format!(
                    "{} children's descriptions in {}",
                    children.len(),
                    file.display()
                ),
            )
        }
        _ => bail!("give exactly one of --data, --photos and --embeddings"),
    };
    let Some(at_rate) = evaluate(&same, &different, args.false_match_rate) else {
        bail!(
            "{source}: {} pairs of one child and {} of two; both kinds are needed",
            same.len(),
            different.len()
        );
    };
    let default = hifazat_matcher::DEFAULT_THRESHOLD;
    let rate_at = |t: f32, d: &[f32]| d.iter().filter(|x| **x < t).count() as f64 / d.len() as f64;
    let (tmr_default, fmr_default) = (rate_at(default, &same), rate_at(default, &different));
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "source": source,
                "same_pairs": at_rate.same_pairs,
                "different_pairs": at_rate.different_pairs,
                "false_match_rate": at_rate.false_match_rate,
                "reached_false_match_rate": at_rate.reached_false_match_rate,
                "threshold": finite(at_rate.threshold),
                "true_match_rate": at_rate.true_match_rate,
                "default_threshold": f64::from(default).mul_add(1000.0, 0.0).round() / 1000.0,
                "true_match_rate_at_default": tmr_default,
                "false_match_rate_at_default": fmr_default,
            })
        );
    } else {
        print(&source, &at_rate, default, tmr_default, fmr_default);
    }
    Ok(true)
}

fn finite(t: f32) -> serde_json::Value {
    if t.is_finite() {
        serde_json::json!(t)
    } else {
        serde_json::Value::Null
    }
}

fn percent(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

fn print(source: &str, e: &Evaluation, default: f32, tmr_default: f64, fmr_default: f64) {
    println!("from {source}:");
    println!(
        "  {} pairs of one child, {} pairs of two children",
        e.same_pairs, e.different_pairs
    );
    let smallest = 1.0 / e.different_pairs as f64;
    if e.false_match_rate > 0.0 && e.false_match_rate < smallest {
        println!(
            "  (with {} pairs of two children, the smallest false-match rate measured is {}: more pairs are needed to \
             hold {})",
            e.different_pairs,
            percent(smallest),
            percent(e.false_match_rate)
        );
    }
    if e.threshold.is_finite() {
        println!(
            "  at a false-match rate of at most {} (reached {}): threshold {:.3}, true-match rate {}",
            percent(e.false_match_rate),
            percent(e.reached_false_match_rate),
            e.threshold,
            percent(e.true_match_rate)
        );
    } else {
        println!(
            "  every pair of two children may match at {}: no threshold is needed to hold it",
            percent(e.false_match_rate)
        );
    }
    println!(
        "  at dlib's threshold {default}: true-match rate {}, false-match rate {}",
        percent(tmr_default),
        percent(fmr_default)
    );
    println!(
        "  start the node with `serve --match-threshold <threshold>` to use it; every suggestion still says \
         \"possible match, confirm in person\""
    );
}

/// Distances of every two faces of one child, and of every two faces of different children.
fn pairs(children: &Children) -> (Vec<f32>, Vec<f32>) {
    let all: Vec<(&String, &Embedding)> = children
        .iter()
        .flat_map(|(c, faces)| faces.iter().map(move |f| (c, f)))
        .collect();
    let (mut same, mut different) = (Vec::new(), Vec::new());
    for (i, (a, fa)) in all.iter().enumerate() {
        for (b, fb) in &all[i + 1..] {
            let d = fa.distance(fb);
            if a == b {
                same.push(d)
            } else {
                different.push(d)
            }
        }
    }
    (same, different)
}

fn from_embeddings(file: &Path) -> anyhow::Result<Children> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut children = Children::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Line {
            child: String,
            embedding: Vec<f32>,
        }
        let l: Line = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: not {{\"child\", \"embedding\"}}",
                file.display(),
                n + 1
            )
        })?;
        if l.embedding.len() != hifazat_faces::gallery::DIMENSIONS
            || l.embedding.iter().any(|v| !v.is_finite())
        {
            bail!(
                "{}:{}: an embedding is 128 finite numbers",
                file.display(),
                n + 1
            );
        }
        children
            .entry(l.child)
            .or_default()
            .push(Embedding(l.embedding));
    }
    Ok(children)
}

fn from_photos(dir: &Path) -> anyhow::Result<Children> {
    let pipeline = Pipeline::bundled();
    let mut children = Children::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for child in entries {
        let label = child.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(child.path())?
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file)?;
            let faces = hifazat_photos::clean(&bytes)
                .and_then(|p| hifazat_photos::pixels(&p.bytes))
                .map(|(w, h, data)| {
                    pipeline.faces(&hifazat_faces::chip::Rgb {
                        width: w as usize,
                        height: h as usize,
                        data,
                    })
                });
            match faces {
                Ok(faces) if !faces.is_empty() => {
                    children
                        .entry(label.clone())
                        .or_default()
                        .push(faces[0].embedding.clone());
                }
                Ok(_) => eprintln!("{}: no face found; left out", file.display()),
                Err(e) => eprintln!("{}: {e}; left out", file.display()),
            }
        }
    }
    Ok(children)
}

/// The confirmed matches of a stopped node: for each, the alert photo's face against each of the report's
/// photos' faces (one child), and against the other reports' (two children).
fn from_node(data: &Path) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let store = hifazat_store::Store::open(&data.join("store")).with_context(|| {
        format!(
            "opening the store in {} (stop the node first, or give a copy of its data directory)",
            data.display()
        )
    })?;
    let confirmed = hifazat_engine::confirmed_pairs(&store)?;
    let face = |photo| -> anyhow::Result<Option<Embedding>> {
        Ok(store
            .faces(&photo)?
            .and_then(|b| hifazat_faces::pipeline::decode(&b))
            .and_then(|f| f.into_iter().next())
            .map(|f| f.embedding))
    };
    let mut rows: Vec<(Embedding, Vec<Embedding>)> = Vec::new();
    for pair in &confirmed {
        let Some(alert) = face(pair.alert_photo)? else {
            continue;
        };
        let mut found = Vec::new();
        for p in &pair.found_photos {
            if let Some(f) = face(*p)? {
                found.push(f);
            }
        }
        if !found.is_empty() {
            rows.push((alert, found));
        }
    }
    let (mut same, mut different) = (Vec::new(), Vec::new());
    for (i, (alert, _)) in rows.iter().enumerate() {
        for (j, (_, found)) in rows.iter().enumerate() {
            for f in found {
                let d = alert.distance(f);
                if i == j {
                    same.push(d)
                } else {
                    different.push(d)
                }
            }
        }
    }
    Ok((same, different))
}
