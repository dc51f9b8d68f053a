//! Unit tests of the script module: compile errors with their place, the wish constructors, the
//! `state` map kept between steps and across a restart, and the fallback on errors and limits.

use super::*;
use crate::control::decision::Command;
use crate::control::observation::Observation;
use crate::control::policy::MeterView;
use crate::units::{Phases, Soc, Supply, Volts, Watts};

fn policy(src: &str, on_error: OnError) -> ScriptPolicy {
    let c = compile_str(Path::new("t.rhai"), src).unwrap_or_else(|p| panic!("{p}"));
    ScriptPolicy::new(Arc::new(c), Arc::new(Map::new()), on_error)
}

fn with_ctx<T>(meter: bool, f: impl FnOnce(&PolicyContext<'_>) -> T) -> T {
    let obs = Observation::default();
    let ctx = PolicyContext {
        now: "2026-06-01T10:00:00Z".parse().unwrap(),
        tz: "Europe/Brussels".parse().unwrap(),
        supply: Supply::new(Phases::Three, Volts(230.0)),
        floor: Amps(6.0),
        max: Amps(16.0),
        step: Amps(1.0),
        obs: &obs,
        meter: meter.then_some(MeterView {
            grid: Watts(-2000.0),
            available: Watts(2000.0),
        }),
        car_power: Watts(0.0),
        soc: Soc::new(55.0),
        target: Soc::new(80.0).unwrap(),
        capacity_kwh: Some(60.0),
        efficiency: 0.9,
        departure: None,
        command: Command::Pause,
        outlook: None,
    };
    f(&ctx)
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let e = compile_str(Path::new("p/x.rhai"), "fn wish(ctx) {\n  let a = ;\n}\n").unwrap_err();
    let shown = e.to_string();
    assert!(shown.starts_with("p/x.rhai:2:"), "{shown}");
    assert!(shown.contains("does not compile"), "{shown}");
}

#[test]
fn a_script_without_wish_is_refused() {
    let e = compile_str(Path::new("x.rhai"), "fn other(ctx) { pause() }").unwrap_err();
    assert!(e.message.contains("fn wish(ctx)"), "{e}");
}

#[test]
fn constructors_give_the_wishes_and_ctx_has_units_in_names() {
    let mut p = policy(
        "fn wish(ctx) { if ctx.available_w > 1000.0 && ctx.soc_pct == 55.0 && ctx.target_pct == 80.0 \
         && ctx.floor_a == 6.0 && ctx.max_a == 16 && ctx.local_time == \"12:00\" && ctx.weekday == 1 \
         && ctx.plugged && ctx.departure == () { solar_min(7, \"r\") } else { pause() } }",
        OnError::Pause,
    );
    let w = with_ctx(true, |c| p.wish(c));
    assert_eq!(
        w,
        Wish::Solar {
            minimum: Some(Amps(7.0)),
            reason: "r".into()
        }
    );
    let mut p = policy("fn wish(ctx) { fixed(10.5) }", OnError::Pause);
    assert!(
        matches!(with_ctx(true, |c| p.wish(c)), Wish::Fixed { current, .. } if current == Amps(10.5))
    );
    let mut p = policy("fn wish(ctx) { direct(0) }", OnError::Pause);
    assert!(matches!(
        with_ctx(true, |c| p.wish(c)),
        Wish::Direct { current: None, .. }
    ));
}

#[test]
fn state_persists_between_steps_and_across_a_restart() {
    let src = "fn wish(ctx) { let s = ctx.state; s.n = (s.n ?? 0) + 1; ctx.state.m = s.n * 10; \
               pause(`n=${s.n}`) }";
    let mut p = policy(src, OnError::Pause);
    for n in 1..=3 {
        assert_eq!(with_ctx(true, |c| p.wish(c)).reason(), format!("n={n}"));
    }
    let saved = p.state().unwrap();
    assert_eq!(saved["n"], 3);
    assert_eq!(saved["m"], 30);
    let mut restarted = policy(src, OnError::Pause);
    restarted.restore_state(&saved);
    assert_eq!(with_ctx(true, |c| restarted.wish(c)).reason(), "n=4");
}

#[test]
fn state_properties_and_the_indexer_are_one_map() {
    // `a` and `b` are properties in the text (registered getters and setters); `c` is reached only
    // through the indexer with a computed key; `never` was never written.
    let src = "fn wish(ctx) { let s = ctx.state; s.a = (s.a ?? 0) + 1; s[\"b\"] = s.a * 2; \
               let k = \"c\"; s[k] = s.b + 1; \
               pause(`${s[\"a\"]} ${s.b} ${s[k]} ${s.never ?? \"unset\"} ${s.contains(\"c\")}`) }";
    let mut p = policy(src, OnError::Pause);
    assert_eq!(with_ctx(true, |c| p.wish(c)).reason(), "1 2 3 unset true");
    assert_eq!(with_ctx(true, |c| p.wish(c)).reason(), "2 4 5 unset true");
    let saved = p.state().unwrap();
    assert_eq!(
        (saved["a"].clone(), saved["b"].clone(), saved["c"].clone()),
        (2.into(), 4.into(), 5.into())
    );
}

#[test]
fn an_infinite_loop_hits_the_limit_and_falls_back_within_the_step() {
    let mut p = policy("fn wish(ctx) { loop { } }", OnError::FloorOrPause);
    let w = with_ctx(true, |c| p.wish(c));
    assert!(
        matches!(w, Wish::Fixed { current, .. } if current == Amps(6.0)),
        "{w:?}"
    );
    assert!(w.reason().contains("operations"), "{}", w.reason());
    // Stale meter: the default fallback pauses.
    let w = with_ctx(false, |c| p.wish(c));
    assert!(matches!(w, Wish::Pause { .. }), "{w:?}");
}

#[test]
fn the_operation_limit_is_per_step_though_the_interpreter_state_is_kept() {
    // About 10 000 operations a step: 30 steps are three times the limit of one, and each passes.
    let mut p = policy(
        "fn wish(ctx) { let n = 0; for i in 0..2500 { n += i; } pause(`${n}`) }",
        OnError::FloorOrPause,
    );
    for _ in 0..30 {
        assert_eq!(with_ctx(true, |c| p.wish(c)).reason(), "3123750");
    }
    // An error raised inside wish(ctx) is reported as itself, and the next step runs normally.
    let mut p = policy(
        "fn wish(ctx) { let s = ctx.state; s.n = (s.n ?? 0) + 1; \
         if s.n == 2 { throw \"second step\" } pause(`${s.n}`) }",
        OnError::Pause,
    );
    assert_eq!(with_ctx(true, |c| p.wish(c)).reason(), "1");
    let w = with_ctx(true, |c| p.wish(c));
    let shown = w.reason();
    assert!(
        shown.starts_with("script error (pause): Runtime error: second step"),
        "{shown}"
    );
    assert!(!shown.contains("in call to function"), "{shown}");
    assert_eq!(with_ctx(true, |c| p.wish(c)).reason(), "3");
}

#[test]
fn nan_negative_and_unknown_wishes_are_errors_with_a_message() {
    for (src, needle) in [
        ("fn wish(ctx) { fixed(0.0 / 0.0) }", "finite"),
        ("fn wish(ctx) { fixed(-3) }", "finite"),
        ("fn wish(ctx) { \"turbo\" }", "not a wish"),
        ("fn wish(ctx) { turbo(10) }", "turbo"),
        ("fn wish(ctx) { ctx.nope }", "nope"),
    ] {
        let mut p = policy(src, OnError::Pause);
        let w = with_ctx(true, |c| p.wish(c));
        assert!(matches!(w, Wish::Pause { .. }), "{src}: {w:?}");
        assert!(w.reason().contains(needle), "{src}: {}", w.reason());
    }
}

#[test]
fn no_eval_no_import_no_clock() {
    for src in [
        "fn wish(ctx) { eval(\"pause()\") }",
        "import \"x\" as y; fn wish(ctx) { pause() }",
        "fn wish(ctx) { let t = timestamp(); pause() }",
    ] {
        let compiled = compile_str(Path::new("x.rhai"), src);
        if let Ok(c) = compiled {
            let mut p = ScriptPolicy::new(Arc::new(c), Arc::new(Map::new()), OnError::Pause);
            let w = with_ctx(true, |c| p.wish(c));
            assert!(w.reason().starts_with("script error"), "{src}: {w:?}");
        }
    }
}
