//! `script`: a policy written by the user in Rhai, in a file next to the policy TOML.
//!
//! Owns: the `script` [`Module`], [`ScriptPolicy`] (runs `fn wish(ctx)` each step, keeps the script's
//! `state` map, falls back to [`OnError`] when the script fails) and [`Compiled`] (the engine with its
//! limits and the script's AST, compiled once and shared). The `ctx` the script sees is in
//! `script_ctx.rs`. Everything the controller does around a built-in policy (target SoC stop, stale
//! fail-safe, PI, start/stop windows, guard) applies unchanged: a script only chooses a [`Wish`].
//!
//! ```toml
//! module = "script"
//! script = "pv-only.rhai"      # relative to this file
//! on_error = "floor-or-pause"  # or "pause", "solar"
//! [params]
//! margin_w = 200               # the script reads ctx.params.margin_w
//! ```
//!
//! The sandbox: no modules (`import`), no `eval`, no clock, no file or network access; every step is
//! limited in operations, call depth, expression depth and string/array/map sizes.

use super::script_ctx::{Ctx, State, register_ctx, register_state_properties};
use super::{CheckParams, LoadedPolicy, Module, parse_checked};
use crate::control::policy::{Policy, PolicyContext, Reason, Wish};
use crate::diag::{Problem, Problems};
use crate::units::Amps;
use rhai::{AST, Caches, Dynamic, Engine, EvalAltResult, GlobalRuntimeState, Map, Scope};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const MODULE: Module = Module {
    name: "script",
    summary: "a policy written in Rhai (script = \"file.rhai\"), run inside the same guard",
    needs_soc: false,
    load,
};

/// Operations one `wish(ctx)` call may take (a page of script takes a few hundred).
pub const MAX_OPERATIONS: u64 = 100_000;
const MAX_CALL_LEVELS: usize = 32;
const MAX_EXPR_DEPTH: usize = 64;
const MAX_FN_EXPR_DEPTH: usize = 32;
const MAX_STRING: usize = 4096;
const MAX_ARRAY: usize = 4096;
const MAX_MAP: usize = 1024;
/// Distinct error messages remembered (each is logged once).
const MAX_LOGGED: usize = 64;

/// What a step does when the script errors or hits a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// The floor while the meter is fresh (the car is plugged, or the policy is not asked), else pause.
    #[default]
    FloorOrPause,
    Pause,
    /// Follow the surplus like the built-in pv-only.
    Solar,
}

impl fmt::Display for OnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnError::FloorOrPause => "floor-or-pause",
            OnError::Pause => "pause",
            OnError::Solar => "solar",
        })
    }
}

/// `[params]` of a script policy: any TOML, handed to the script as `ctx.params`.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct ScriptParams(pub toml::Table);

impl CheckParams for ScriptParams {}

/// A wish as the script returns it (built only by the constructors below).
#[derive(Debug, Clone)]
pub struct ScriptWish(pub Wish);

/// The engine and the compiled script, shared (a reload builds a new one).
pub struct Compiled {
    engine: Engine,
    ast: AST,
    /// `wish(ctx)`: the one statement each step evaluates, with `ctx` in the step's scope.
    call: AST,
    path: PathBuf,
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiled")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The sandboxed engine: standard packages without clock or modules, limits on, `eval` off, the
/// wish constructors and the `ctx` type registered.
pub fn engine() -> Engine {
    let mut e = Engine::new();
    e.set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FN_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING)
        .set_max_array_size(MAX_ARRAY)
        .set_max_map_size(MAX_MAP)
        .set_strict_variables(true);
    e.disable_symbol("eval");
    e.on_print(|s| tracing::info!(target: "sunplug::script", "{s}"));
    e.on_debug(|s, _, pos| tracing::debug!(target: "sunplug::script", "{pos}: {s}"));
    register_wishes(&mut e);
    register_ctx(&mut e);
    e
}

/// A number of amps from the script: an integer or a float, finite and not negative.
fn amps(f: &str, v: &Dynamic) -> Result<Amps, Box<EvalAltResult>> {
    let a = v
        .as_float()
        .ok()
        .or_else(|| v.as_int().ok().map(|i| i as f64));
    match a {
        Some(a) if a.is_finite() && a >= 0.0 => Ok(Amps(a)),
        _ => Err(format!("{f}({v}): the current must be a finite number of amps ≥ 0").into()),
    }
}

fn register_wishes(e: &mut Engine) {
    type R = Result<ScriptWish, Box<EvalAltResult>>;
    e.register_type_with_name::<ScriptWish>("Wish");
    let pause = |reason: &str| {
        ScriptWish(Wish::Pause {
            reason: reason.to_string().into(),
        })
    };
    e.register_fn("pause", move || pause("script: pause"));
    e.register_fn("pause", move |r: &str| pause(r));
    let solar = |minimum, reason: &str| {
        ScriptWish(Wish::Solar {
            minimum,
            reason: reason.to_string().into(),
        })
    };
    e.register_fn("solar", move || solar(None, "script: solar"));
    e.register_fn("solar", move |r: &str| solar(None, r));
    e.register_fn("solar_min", move |a: Dynamic| -> R {
        Ok(solar(
            Some(amps("solar_min", &a)?),
            "script: solar with a minimum",
        ))
    });
    e.register_fn("solar_min", move |a: Dynamic, r: &str| -> R {
        Ok(solar(Some(amps("solar_min", &a)?), r))
    });
    let fixed = |a: &Dynamic, reason: &str| -> R {
        Ok(ScriptWish(Wish::Fixed {
            current: amps("fixed", a)?,
            reason: reason.to_string().into(),
        }))
    };
    e.register_fn("fixed", move |a: Dynamic| {
        fixed(&a, "script: fixed current")
    });
    e.register_fn("fixed", move |a: Dynamic, r: &str| fixed(&a, r));
    let direct = |a: &Dynamic, reason: &str| -> R {
        let a = amps("direct", a)?;
        Ok(ScriptWish(Wish::Direct {
            current: (a.0 > 0.0).then_some(a),
            reason: reason.to_string().into(),
        }))
    };
    e.register_fn("direct", move |a: Dynamic| {
        direct(&a, "script: direct current")
    });
    e.register_fn("direct", move |a: Dynamic, r: &str| direct(&a, r));
}

/// The script file a policy file at `policy` names with `script = "<name>"`: relative to the policy.
pub fn resolve(policy: &Path, name: &str) -> PathBuf {
    policy.parent().unwrap_or(Path::new(".")).join(name)
}

/// Compile a script from its text (`path` names it in messages).
pub fn compile_str(path: &Path, text: &str) -> Result<Compiled, Problem> {
    let shown = path.display().to_string();
    let mut engine = engine();
    register_state_properties(&mut engine, text);
    let ast = engine.compile(text).map_err(|e| {
        let pos = e.position();
        let at = match (pos.line(), pos.position()) {
            (Some(l), Some(c)) => format!("{shown}:{l}:{c}"),
            (Some(l), None) => format!("{shown}:{l}"),
            _ => shown.clone(),
        };
        Problem {
            file: PathBuf::from(at),
            key: String::new(),
            line: None,
            message: format!("script does not compile: {}", e.err_type()),
        }
    })?;
    if !ast
        .iter_functions()
        .any(|f| f.name == "wish" && f.params.len() == 1)
    {
        return Err(Problem {
            file: path.to_path_buf(),
            key: String::new(),
            line: None,
            message: "the script defines no `fn wish(ctx)`: it must, and return pause(), solar(), \
                      solar_min(a), fixed(a) or direct(a)"
                .into(),
        });
    }
    let mut scope = Scope::new();
    scope.push(CTX, ());
    let call = engine
        .compile_with_scope(&scope, "wish(ctx)")
        .map_err(|e| Problem {
            file: path.to_path_buf(),
            key: String::new(),
            line: None,
            message: format!("cannot prepare the call of wish(ctx): {e}"),
        })?;
    Ok(Compiled {
        engine,
        ast,
        call,
        path: path.to_path_buf(),
    })
}

/// `source`: the script's text, read by `config` from the file [`resolve`] names.
fn load(path: &Path, text: &str, source: Option<&str>) -> (Option<LoadedPolicy>, Problems) {
    let (checked, mut problems) = parse_checked::<ScriptParams>(path, text, &MODULE);
    let Some(c) = checked else {
        return (None, problems);
    };
    let Some(script) = c.script.as_deref() else {
        problems.push(Problem {
            file: path.to_path_buf(),
            key: "script".into(),
            line: c.idx.line("module"),
            message: "missing: name the Rhai file, e.g. script = \"my-policy.rhai\" (relative to \
                      this file)"
                .into(),
        });
        return (None, problems);
    };
    let script_path = resolve(path, script);
    let Some(source) = source else {
        problems.push(Problem {
            file: script_path,
            key: String::new(),
            line: None,
            message: "the script was not read: a script policy is loaded with its script \
                      (config::load_policy reads both)"
                .into(),
        });
        return (None, problems);
    };
    let compiled = match compile_str(&script_path, source) {
        Ok(c) => c,
        Err(p) => {
            problems.push(p);
            return (None, problems);
        }
    };
    let params = match rhai::serde::to_dynamic(&c.params.0) {
        Ok(d) => d.try_cast::<Map>().unwrap_or_default(),
        Err(e) => {
            problems.push(Problem {
                file: path.to_path_buf(),
                key: "params".into(),
                line: c.idx.line("params"),
                message: format!("cannot hand these to the script: {e}"),
            });
            return (None, problems);
        }
    };
    let policy = ScriptPolicy::new(
        Arc::new(compiled),
        Arc::new(params),
        c.on_error.unwrap_or_default(),
    );
    let loaded = c.into_loaded(path, &MODULE, Box::new(policy), vec![script_path]);
    (Some(loaded), problems)
}

/// The name of `wish`'s argument in the step's scope.
const CTX: &str = "ctx";

/// A script policy: the shared compiled script, its params, and the state it keeps.
pub struct ScriptPolicy {
    compiled: Arc<Compiled>,
    /// `[params]` as the script reads it (`ctx.params` hands out a copy).
    params: Dynamic,
    /// The script's `ctx.state`, kept between steps.
    state: State,
    on_error: OnError,
    logged: HashSet<String>,
    /// The step's scope (`ctx` only), kept so its storage is reused.
    scope: Scope<'static>,
    /// The interpreter's state between steps: the script's functions installed once, and the
    /// operation count, set back to 0 at each step (the limit is per step).
    global: GlobalRuntimeState,
    /// Which registered function each call in the script resolved to, kept between steps.
    /// `Engine::call_fn` starts every call with empty caches and looks each function up again,
    /// which was the largest single cost of a step (`benches/sim_year.rs`).
    caches: Caches,
}

impl fmt::Debug for ScriptPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptPolicy")
            .field("compiled", &self.compiled)
            .field("state", &self.state)
            .field("on_error", &self.on_error)
            .finish_non_exhaustive()
    }
}

impl ScriptPolicy {
    pub fn new(compiled: Arc<Compiled>, params: Arc<Map>, on_error: OnError) -> ScriptPolicy {
        let mut global = compiled.engine.new_global_runtime_state();
        global.lib.push(compiled.ast.shared_lib().clone());
        ScriptPolicy {
            compiled,
            params: Dynamic::from_map((*params).clone()),
            state: State::default(),
            on_error,
            logged: HashSet::new(),
            scope: Scope::new(),
            global,
            caches: Caches::new(),
        }
    }

    fn run(&mut self, ctx: &PolicyContext<'_>) -> Result<Wish, String> {
        let c = &*self.compiled;
        let arg = Ctx::new(ctx, self.params.clone(), self.state.clone());
        // Each step evaluates `wish(ctx)` (the script's top level is not run) with the
        // interpreter state and function caches of the previous steps; only the operation count
        // starts again, so the limit holds per step.
        self.scope.clear();
        self.scope.push(CTX, arg);
        self.global.num_operations = 0;
        self.global.level = 0;
        // `eval_statements_raw` is the one entry point that takes the caller's caches (Rhai marks
        // it deprecated but keeps it under `internals`; `Cargo.lock` pins the version).
        #[allow(deprecated)]
        let out = c
            .engine
            .eval_statements_raw(
                &mut self.global,
                &mut self.caches,
                &mut self.scope,
                c.call.statements(),
            )
            .map_err(|e| {
                // As `call_fn` does: an error inside `wish` is reported as itself.
                let e = match *e {
                    EvalAltResult::ErrorInFunctionCall(name, _, inner, _) if name == "wish" => {
                        inner
                    }
                    e => Box::new(e),
                };
                match *e {
                    EvalAltResult::ErrorTooManyOperations(pos) => {
                        format!("over the limit of {MAX_OPERATIONS} operations per step ({pos})")
                    }
                    e => e.to_string(),
                }
            })?;
        let type_name = out.type_name();
        out.try_cast::<ScriptWish>().map(|w| w.0).ok_or_else(|| {
            format!(
                "wish(ctx) returned {type_name}, not a wish: return pause(), solar(), \
                 solar_min(a), fixed(a) or direct(a)"
            )
        })
    }

    fn fallback(&mut self, ctx: &PolicyContext<'_>, error: String) -> Wish {
        let file = self.compiled.path.display();
        if self.logged.len() < MAX_LOGGED && self.logged.insert(error.clone()) {
            tracing::warn!(
                "script {file}: {error}; falling back to on_error = {}",
                self.on_error
            );
        }
        let reason: Reason = format!("script error ({}): {error}", self.on_error).into();
        match self.on_error {
            OnError::FloorOrPause if ctx.meter.is_some() => Wish::Fixed {
                current: ctx.floor,
                reason,
            },
            OnError::FloorOrPause | OnError::Pause => Wish::Pause { reason },
            OnError::Solar => Wish::Solar {
                minimum: None,
                reason,
            },
        }
    }
}

impl Policy for ScriptPolicy {
    fn wish(&mut self, ctx: &PolicyContext<'_>) -> Wish {
        match self.run(ctx) {
            Ok(w) => w,
            Err(e) => self.fallback(ctx, e),
        }
    }

    fn state(&self) -> Option<serde_json::Value> {
        let map = self.state.lock().clone();
        serde_json::to_value(Dynamic::from_map(map)).ok()
    }

    fn restore_state(&mut self, value: &serde_json::Value) {
        if let Ok(map) = rhai::serde::to_dynamic(value).and_then(|d| {
            d.try_cast::<Map>()
                .ok_or_else(|| "not a map".to_string().into())
        }) {
            self.state = State::new(map);
        }
    }
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
