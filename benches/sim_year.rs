//! Benchmark: one full year at 1-s steps (31.5 M physics steps, a controller step every 5 s) per policy.
//!
//! `cargo bench --bench sim_year` prints the physics steps per second of each run. The year is
//! synthetic but shaped like a real one: a 10 kWp roof at 47° N (the sun's height from the day of the
//! year and the hour), minute-by-minute clouds from a two-state weather chain, and a household with a
//! base load, morning and evening peaks and appliance spikes (about 4000 kWh a year); a 60 kWh car
//! plugged in every day from 08:00 to 18:00 arriving at 30 %. The goal: a year in under 10 s per
//! policy on a 2-core machine (about 3.2 M steps/s). Nothing is asserted: the figure is printed.
//! Under `cargo test --all-targets` (no `--bench` argument) it runs two June days only, as a smoke test.
//!
//! Script policies run beside the built-ins: `pv-only-script` (policies/pv-only.rhai, its own windows
//! in script) and `pv-only-as-script`, the built-in pv-only file with its module swapped for a one-line
//! script returning `solar()`: the same decisions, so the difference is the cost of the engine. The
//! goal for a script: at most 3× the built-in's time per run.
//!
//! `cargo bench --bench sim_year -- pv-only` runs only the policies whose name contains `pv-only`
//! (any argument not starting with `-` is such a filter), to compare a script with its built-in quickly.

use std::path::{Path, PathBuf};
use std::time::Instant;
use sunplug::sim::data::Series;
use sunplug::sim::input::{Balance, Input};
use sunplug::sim::rng::Rng;
use sunplug::sim::{Simulation, load_policies, scenario};

const T0: i64 = 1_451_606_400_000; // 2016-01-01T00:00:00Z
const MIN: i64 = 60_000;
fn year(first_day: i64, days: i64) -> Input {
    let mut rng = Rng::new(2016);
    let n = (days * 1440) as usize;
    let (mut pv, mut load) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut cloudy = false;
    let mut appliance_left = 0u32;
    let mut appliance_w = 0.0;
    for m in first_day * 1440..first_day * 1440 + n as i64 {
        let (day, minute) = (m / 1440, m % 1440);
        let decl = 23.44f64.to_radians()
            * (2.0 * std::f64::consts::PI * (day as f64 - 80.0) / 365.0).sin();
        let hour_angle = ((minute as f64 / 60.0) - 12.0) * 15f64.to_radians();
        let lat = 47f64.to_radians();
        let sin_elev = lat.sin() * decl.sin() + lat.cos() * decl.cos() * hour_angle.cos();
        if rng.uniform() < if cloudy { 0.08 } else { 0.04 } {
            cloudy = !cloudy;
        }
        let sky = if cloudy {
            0.15 + 0.3 * rng.uniform()
        } else {
            0.9 + 0.15 * rng.uniform()
        };
        pv.push((
            T0 + m * MIN,
            (10_000.0 * 0.86 * sin_elev.max(0.0) * sky).min(9600.0),
        ));
        let h = minute as f64 / 60.0;
        let peaks =
            600.0 * (-(h - 7.5).powi(2) / 2.0).exp() + 900.0 * (-(h - 19.0).powi(2) / 4.0).exp();
        if appliance_left == 0 && rng.uniform() < 0.004 {
            appliance_left = 5 + (rng.uniform() * 40.0) as u32;
            appliance_w = 1000.0 + 1500.0 * rng.uniform();
        }
        let spike = if appliance_left > 0 {
            appliance_left -= 1;
            appliance_w
        } else {
            0.0
        };
        load.push((T0 + m * MIN, 180.0 + peaks + spike + 40.0 * rng.uniform()));
    }
    let balance = Balance::PvLoad {
        pv: Series::from_points("synthetic pv", &pv, MIN),
        load: Series::from_points("synthetic load", &load, MIN),
    };
    Input::new(balance, None, Some(T0 + (first_day + days) * 1440 * MIN)).expect("a year of data")
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scripts = tempfile::tempdir().expect("a temp dir");
    let builtin =
        std::fs::read_to_string(root.join("policies/pv-only.toml")).expect("pv-only.toml");
    std::fs::write(
        scripts.path().join("pv-only-as-script.toml"),
        builtin.replace(
            "module = \"pv-only\"",
            "module = \"script\"\nscript = \"solar.rhai\"",
        ),
    )
    .expect("writes");
    std::fs::write(
        scripts.path().join("solar.rhai"),
        "fn wish(ctx) { solar(\"solar only\") }\n",
    )
    .expect("writes");
    let text = format!(
        r#"name = "synthetic-year"
policies = ["{p}/pv-only.toml", "{p}/evcc-like.toml", "{p}/pv-only-script.toml", "{s}/pv-only-as-script.toml"]
[data]
pv = "unused"
load = "unused"
[site]
timezone = "Europe/Zurich"
phases = 3
main_fuse_a = 25
[car]
capacity_kwh = 60
start_soc = 30
target_soc = 80
plug_in = "08:00"
departure = "18:00"
[meter]
noise_w = 20
dropout_rate = 0.005
"#,
        p = root.join("policies").display(),
        s = scripts.path().display()
    );
    let sc =
        scenario::load_str(Path::new("synthetic-year.toml"), &text).expect("the scenario parses");
    let (first_day, days) = if std::env::args().any(|a| a == "--bench") {
        (0, 365)
    } else {
        (160, 2)
    };
    let made = Instant::now();
    let input = year(first_day, days);
    let sim = Simulation::new(sc.clone(), input);
    println!(
        "synthetic {days} days: {} physics steps per run, data and oracle prepared in {} ms",
        sim.steps(),
        made.elapsed().as_millis()
    );
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut builtin_s = None;
    for policy in load_policies(&sc.policies, true).expect("the shipped policies load") {
        let name = policy.name.clone();
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let (t, cpu0) = (Instant::now(), thread_cpu_s());
        let out = sim.run(policy, &mut ());
        let wall = t.elapsed().as_secs_f64();
        // CPU time when the system says it (other work on the machine does not count), else wall.
        let secs = match (cpu0, thread_cpu_s()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => wall,
        };
        let m = sim.metrics(&out);
        println!(
            "{name:>10}: {:.2} s CPU ({:.2} s wall), {:.2} M steps/s; car {:.0} kWh, solar share {:.3}, oracle capture {:.3}, {} starts",
            secs,
            wall,
            out.steps as f64 / secs / 1e6,
            m.car_energy_kwh,
            m.solar_share,
            m.oracle_capture,
            m.charge_starts
        );
        if name == "pv-only" {
            builtin_s = Some(secs);
        }
        if let (Some(b), true) = (builtin_s, policy_is_script(&name)) {
            println!(
                "{:>10}  {:.2}× the built-in pv-only's CPU time",
                "",
                secs / b
            );
        }
    }
}

/// CPU seconds this thread has used (Linux: `/proc/thread-self/stat`, in clock ticks of 10 ms), so the
/// figures hold on a machine other work is sharing; `None` elsewhere.
fn thread_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // After the command name in parentheses: state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn policy_is_script(name: &str) -> bool {
    name.contains("script")
}
