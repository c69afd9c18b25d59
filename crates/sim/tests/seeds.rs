//! The federation simulator over many seeds. Any failure prints its seed and how to replay it.
//!
//! `HIFAZAT_SIM_SEEDS=N` sets how many seeds of the demo federation run (500 by default); `HIFAZAT_SIM_SEED=S`
//! runs only seed S (of both layouts), to replay a failure.

use hifazat_sim::{Plan, Report, run};

fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("HIFAZAT_SIM_SEED") {
        return vec![s.parse().expect("HIFAZAT_SIM_SEED is a number")];
    }
    let n = std::env::var("HIFAZAT_SIM_SEEDS")
        .ok()
        .map(|s| s.parse().expect("HIFAZAT_SIM_SEEDS is a number"))
        .unwrap_or(default);
    (0..n).collect()
}

fn assert_good(name: &str, report: &Report) {
    assert!(
        report.violations.is_empty(),
        "{name} seed {} failed: {:#?}\nreplay: HIFAZAT_SIM_SEED={} cargo test --release -p hifazat-sim --test seeds {name}",
        report.seed,
        report.violations,
        report.seed
    );
}

#[test]
fn demo_federation_converges_under_faults() {
    let plan = Plan::demo();
    let mut slowest = 0;
    for seed in seeds(500) {
        let report = run(&plan, seed);
        assert_good("demo", &report);
        assert!(report.acknowledged > 0 && report.outsider_attempts > 0);
        slowest = slowest.max(report.converged_after_ms.unwrap_or(0));
    }
    eprintln!("demo: slowest convergence after the heal: {slowest} ms (simulated)");
}

#[test]
fn national_federation_converges_under_faults() {
    let plan = Plan::national();
    for seed in seeds(3) {
        let report = run(&plan, seed);
        eprintln!(
            "national seed {seed}: {} nodes, {} writes, {} messages ({} bytes), converged {:?} ms after the heal",
            report.nodes,
            report.acknowledged,
            report.messages,
            report.message_bytes,
            report.converged_after_ms
        );
        assert_good("national", &report);
    }
}

#[test]
fn a_seed_replays_identically() {
    let plan = Plan::demo();
    for seed in [7, 8] {
        let a = run(&plan, seed);
        let b = run(&plan, seed);
        assert_eq!(a, b, "seed {seed} ran differently twice");
    }
    let c = run(&plan, 9);
    assert_ne!(
        run(&plan, 7).trace,
        c.trace,
        "different seeds should run differently"
    );
}

#[test]
fn a_forking_node_is_caught_within_one_sync_round_of_reconnecting() {
    let plan = Plan::fork();
    let (mut slowest_first, mut slowest_all) = (0, 0);
    for seed in seeds(100) {
        let report = run(&plan, seed);
        assert_good("fork", &report);
        let fork = report
            .fork
            .as_ref()
            .expect("a forking run reports the fork");
        let replay = format!(
            "replay: HIFAZAT_SIM_SEED={seed} cargo test --release -p hifazat-sim --test seeds fork"
        );
        assert!(
            fork.reconnected_ms.is_some(),
            "seed {seed}: the branches never met again; {replay}"
        );
        let first = fork.first_caught_after_ms.expect("caught");
        // One sync round: the vectors both sides send on connecting, and one pull that answers them.
        assert!(
            first <= hifazat_limits::SYNC_VECTOR_INTERVAL_MS,
            "seed {seed}: first evidence {first} ms after the branches met; {replay}"
        );
        let all = fork
            .all_caught_after_ms
            .expect("every node holds the evidence");
        assert!(
            report.cosigned > 0,
            "seed {seed}: no checkpoint was cosigned; {replay}"
        );
        slowest_first = slowest_first.max(first);
        slowest_all = slowest_all.max(all);
    }
    eprintln!(
        "fork: caught at most {slowest_first} ms after the branches met; every node held the evidence within \
         {slowest_all} ms (simulated)"
    );
}

#[test]
fn witnesses_cosign_in_every_honest_run() {
    for seed in seeds(20) {
        let report = run(&Plan::demo(), seed);
        assert!(
            report.cosigned > 0,
            "demo seed {seed}: no checkpoint was cosigned"
        );
    }
}

#[test]
fn a_stolen_key_is_refused_after_its_point_and_the_node_goes_on_under_a_new_one() {
    let plan = Plan::stolen();
    let (mut thief_wrote, mut refused, mut valid, mut new_key) = (0, 0, 0, 0);
    for seed in seeds(100) {
        let report = run(&plan, seed);
        // Among the violations: an honest node holding an entry of the old key after its point, lacking one
        // before it (an acknowledged write the rest of the federation held at the theft), on another topology,
        // or disagreeing on a record.
        assert_good("stolen", &report);
        let stolen = report.stolen.expect("a stolen run reports the theft");
        assert!(
            stolen.thief_wrote > 0,
            "stolen seed {seed}: the thief wrote nothing after the point: {stolen:?}"
        );
        thief_wrote += stolen.thief_wrote;
        refused += stolen.refused_entries;
        valid += stolen.valid;
        new_key += stolen.new_key_wrote;
    }
    assert!(
        refused > 0 && valid > 0 && new_key > 0,
        "the runs refused {refused} smuggled entries, kept {valid} valid ones of old keys and saw {new_key} under new keys"
    );
    eprintln!(
        "stolen: thieves signed {thief_wrote} entries after their points, honest nodes refused {refused} smuggled to \
         them and hold none; {valid} entries of old keys before their points stay valid; {new_key} written under \
         new keys"
    );
}

#[test]
fn equivocating_creations_settle_on_one_winner_on_every_node() {
    let plan = Plan::equivocating();
    let (mut rivals, mut won, mut set_aside) = (0, 0, 0);
    for seed in seeds(100) {
        let report = run(&plan, seed);
        // Among the violations: two nodes whose documents of a record differ, or that set aside other changes.
        assert_good("equivocating", &report);
        let e = report
            .equivocation
            .expect("an equivocating run reports the rivals");
        rivals += e.rivals;
        won += e.won;
        set_aside += e.set_aside;
    }
    // Both outcomes happen: rivals that won (every node that had taken the first creation rebuilt the record
    // from the rival) and rivals that lost.
    assert!(
        won > 0 && won < rivals && set_aside >= rivals,
        "{rivals} rivals, {won} won, {set_aside} changes set aside"
    );
    eprintln!(
        "equivocating: a faulty node signed {rivals} second creations of alerts; {won} won on the smaller hash; \
         {set_aside} changes set aside alike on every node"
    );
}
