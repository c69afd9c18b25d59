//! Benchmarks live in `benches/`; see BENCHMARKS.md for what they measure and how to run them.
