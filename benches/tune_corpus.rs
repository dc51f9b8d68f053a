//! Benchmark: `sunplug tune`'s heavy use, many pv-only variants × the 25-day corpus.
//!
//! `cargo bench --bench tune_corpus` builds 1000 variants of `policies/pv-only.toml` (a grid over five
//! `[switch]` knobs), prepares the 25 days of `../shared/data/corpus` once (data, oracle, optimum:
//! shared by every variant) and runs every variant on every day on all cores, through the same
//! `sim::tune::evaluate` the command uses. It prints the wall time, the runs per second and the time
//! per variant. The goal is under 2 minutes on the 2-core machine. Nothing is asserted. Set
//! `SUNPLUG_BENCH_VARIANTS=N` for fewer; under `cargo test --all-targets` (no `--bench` argument) it
//! runs 2 variants on 2 days as a smoke test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use sunplug::sim::tune::{self, Knob, Objective, Split};
use sunplug::sim::{days, default_jobs, scenario};

/// The system allocator, counting allocations: the bench reports how many one day-run makes.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// CPU seconds the whole process has used (Linux: `/proc/self/stat`, clock ticks of 10 ms); `None`
/// elsewhere. On a machine other work is sharing, CPU time says what the runs cost.
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let wanted: usize = std::env::var("SUNPLUG_BENCH_VARIANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 1000 } else { 2 });
    let sc =
        scenario::load(&root.join("simulations/payerne-broken-clouds.toml")).expect("scenario");
    let mut all = days::list(&root.join("../shared/data/corpus")).expect("the corpus");
    if !bench {
        all.truncate(2);
    }
    let knob = |key: &str, values: &[i64]| Knob {
        key: key.into(),
        values: values.iter().map(|v| toml::Value::Integer(*v)).collect(),
    };
    // 5 × 5 × 5 × 4 × 2 = 1000 combinations.
    let knobs = vec![
        knob("switch.start_energy_wh", &[10, 15, 25, 40, 60]),
        knob("switch.stop_energy_wh", &[20, 30, 45, 60, 90]),
        knob("switch.restart_energy_wh", &[30, 50, 80, 120, 160]),
        knob("switch.bridge_max_wh", &[0, 200, 450, 800]),
        knob("switch.stop_below_pct", &[75, 85]),
    ];
    let policy = root.join("policies/pv-only.toml");
    let base = std::fs::read_to_string(&policy).expect("pv-only.toml");
    let mut variants = tune::variants(&base, &knobs, &policy).expect("variants");
    variants.truncate(wanted);
    let jobs = default_jobs(None);
    let t0 = Instant::now();
    let sims = days::prepare(&sc, &all, jobs).expect("the days load");
    let prep = t0.elapsed();
    let is_val = tune::split(&all, &Split::default());
    let (t1, cpu1) = (Instant::now(), process_cpu_s());
    let scored = tune::evaluate(
        &sims,
        &is_val,
        &variants,
        &policy,
        &Objective::default(),
        jobs,
        &|_, _| {},
    );
    let run = t1.elapsed();
    let cpu = process_cpu_s().zip(cpu1).map(|(b, a)| b - a);
    let runs = variants.len() * sims.len();
    if let Some(cpu) = cpu {
        println!(
            "tune_corpus: the runs took {cpu:.1} s of CPU ({:.2} ms per day-run): {:.1} s on {jobs} \
             otherwise idle cores",
            1000.0 * cpu / runs as f64,
            cpu / jobs as f64
        );
    }
    // Allocations in one day-run of the first variant on the first day (one thread, nothing else
    // running): the policy file's parse is outside, so this is the run itself.
    let pol = sunplug::control::policies::load_str(&policy, &variants[0].text).expect("loads");
    let before = ALLOCS.load(Ordering::Relaxed);
    let out = sims[0].run(pol, &mut ());
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let control_steps = out.steps / (sc.control.interval.get().as_millis() as u64 / 1000).max(1);
    println!(
        "tune_corpus: {} variants × {} days = {runs} day-runs on {jobs} threads: prepare {:.2} s, runs {:.1} s \
         ({:.1} day-runs/s, {:.0} ms per variant); best training savings {:.2} €",
        variants.len(),
        sims.len(),
        prep.as_secs_f64(),
        run.as_secs_f64(),
        runs as f64 / run.as_secs_f64(),
        1000.0 * run.as_secs_f64() / variants.len() as f64,
        scored
            .iter()
            .map(|s| s.train.savings_eur)
            .fold(f64::NEG_INFINITY, f64::max)
    );
    // One thread, the first variant on every day, CPU time: the fast paths against the full run (an
    // observer that sees every step, as before the fast paths existed).
    struct EveryStep;
    impl sunplug::sim::Observer for EveryStep {}
    let n = sims.len();
    let time = |full: bool| {
        let (t, cpu0) = (Instant::now(), process_cpu_s());
        for sim in &sims[..n] {
            let p =
                sunplug::control::policies::load_str(&policy, &variants[0].text).expect("loads");
            if full {
                sim.run(p, &mut EveryStep);
            } else {
                sim.run(p, &mut ());
            }
        }
        let secs = match (cpu0, process_cpu_s()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => t.elapsed().as_secs_f64(),
        };
        1000.0 * secs / n as f64
    };
    let (fast_ms, full_ms) = (time(false), time(true));
    println!(
        "tune_corpus: one day-run on one thread: {fast_ms:.2} ms of CPU with the fast paths, \
         {full_ms:.2} ms without ({:.2}×)",
        full_ms / fast_ms
    );
    println!(
        "tune_corpus: one day-run ({} physics steps, about {control_steps} controller steps): {allocs} allocations \
         ({:.3} per controller step); {:.1} M physics steps/s over the runs",
        out.steps,
        allocs as f64 / control_steps.max(1) as f64,
        sims.iter().map(|s| s.steps()).sum::<u64>() as f64 * variants.len() as f64
            / run.as_secs_f64()
            / 1e6
    );
}
