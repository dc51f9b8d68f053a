//! Setting up a demo: which part of the data to replay, the emulators for the scenario's station and
//! car, and the real `sunplug.toml` (with secret files, a copy of the policy and a state directory)
//! that points the daemon at them.
//!
//! Owns: [`window`], [`start_emulators`], [`write_config`]. The config is an ordinary one, loaded and
//! checked by `config::load` like any user's; only `[mqtt]` is absent (the demo has no broker: the
//! meter is fed from the replayed data) and so is Home Assistant.

use crate::config::{self, Config, LimitUnit, Needs};
use crate::daemon::state::{Persisted, StateStore};
use crate::emulators::enode::{self, EnodeEmulator, Timing};
use crate::emulators::smappee::{EmulatorConfig, SmappeeEmulator};
use crate::sim::Scenario;
use crate::sim::input::Input;
use crate::sim::schedule::Session;
use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;

/// Quiet time kept before the first and after the last activity.
const MARGIN_MS: i64 = 30 * 60 * 1000;
const QUARTER_MS: i64 = 15 * 60 * 1000;

/// The part of the data worth watching: from half an hour before the first sun or car to half an
/// hour after the last, on quarter hours, within the data. Nights without a car are skipped.
pub fn window(input: &Input, sessions: &[Session]) -> (i64, i64) {
    let (start, end) = (input.start_ms, input.end_ms);
    let mut sampler = input.sampler();
    let active = |t: i64, sampler: &mut crate::sim::input::Sampler<'_>| {
        let s = sampler.at(t);
        s.pv_w.map_or(s.surplus_w > 0.0, |p| p > 10.0)
            || sessions.iter().any(|x| x.plug_ms <= t && t < x.depart_ms)
    };
    let minute = 60_000;
    let mut first = None;
    let mut last = None;
    let mut t = start;
    while t < end {
        if active(t, &mut sampler) {
            first.get_or_insert(t);
            last = Some(t);
        }
        t += minute;
    }
    match (first, last) {
        (Some(f), Some(l)) => (
            start.max((f - MARGIN_MS).div_euclid(QUARTER_MS) * QUARTER_MS),
            end.min((l + MARGIN_MS).div_euclid(QUARTER_MS) * QUARTER_MS + QUARTER_MS),
        ),
        _ => (start, end),
    }
}

/// Start the Smappee emulator with the scenario's station and car, and the Enode emulator with the
/// car away, at its start SoC, its own charge limit and capacity.
pub async fn start_emulators(
    sc: &Scenario,
    clock: Arc<dyn crate::clock::Clock>,
    start: DateTime<Utc>,
) -> anyhow::Result<(SmappeeEmulator, Arc<EnodeEmulator>)> {
    let cfg = EmulatorConfig {
        connectors: vec![(
            super::world::CONNECTOR,
            sc.charger.min_current_a,
            sc.charger.max_current_a,
        )],
        voltage: sc.supply.voltage.0,
        ..EmulatorConfig::default()
    };
    let smappee = SmappeeEmulator::start(cfg, clock.clone())
        .await
        .context("cannot start the Smappee emulator")?;
    smappee.set_car_max(super::world::CONNECTOR, sc.car.max_current.0);
    let enode = EnodeEmulator::start_with(clock)
        .await
        .context("cannot start the Enode emulator")?;
    let car = &sc.car;
    let resolution = sc.vehicle_api.resolution_pct;
    let soc = if resolution > 0.0 {
        (car.start_soc / resolution).round() * resolution
    } else {
        car.start_soc
    };
    enode.update_vehicle(|v| {
        v.battery_level = Some(soc);
        v.charge_limit = Some(car.target_soc);
        v.battery_capacity_kwh = Some(car.capacity_kwh);
        v.max_current = Some(car.max_current.0);
        v.plugged = false;
        v.charging = false;
        v.last_updated = Timing::At(start);
    });
    Ok((smappee, Arc::new(enode)))
}

/// A TOML string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write `sunplug.toml` for the scenario into `dir` and load it as the service would. The car's
/// departure, if the scenario has one, is set as a Home Assistant user would set it (in the state).
pub fn write_config(
    dir: &Path,
    sc: &Scenario,
    policy: &Path,
    smappee: &SmappeeEmulator,
    enode: &EnodeEmulator,
) -> anyhow::Result<Config> {
    for sub in ["policies", "secrets", "state"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let policy_name = policy
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a policy file", policy.display()))?;
    std::fs::copy(policy, dir.join("policies").join(policy_name))
        .with_context(|| format!("cannot read the policy {}", policy.display()))?;
    let emu = smappee.config();
    std::fs::write(dir.join("secrets/smappee-password"), &emu.password)?;
    std::fs::write(
        dir.join("secrets/smappee-client-secret"),
        &emu.client_secret,
    )?;
    std::fs::write(dir.join("secrets/enode"), enode::CLIENT_SECRET)?;

    let (c, ch, m, car) = (&sc.control, &sc.charger, &sc.meter, &sc.car);
    let mut text = format!(
        "# Written by `sunplug demo` for {scenario}.\n\
         [site]\nname = {site}\ntimezone = {tz}\nphases = {phases}\nvoltage_v = {voltage}\n{fuse}\
         [control]\ninterval = {interval}\npolicy = {policy}\nstate_dir = \"state\"\n\
         grid_setpoint_w = {setpoint}\nmin_change_interval = {change}\nramp_a_per_s = {ramp}\n\
         charge_efficiency = {efficiency}\n\
         # No MQTT: the demo feeds the meter from the replayed data; these are its freshness rules.\n\
         [surplus]\nkind = \"grid\"\ntopic = \"demo/grid\"\nmax_age = {max_age}\non_stale = {on_stale}\n\
         stale_pause_after = {stale_pause}\n\
         [charger]\nlimit_unit = {unit}\nmin_current_a = {min}\nmax_current_a = {max}\n{cable}\
         [smappee]\nclient_id = {smappee_id}\nclient_secret_file = \"secrets/smappee-client-secret\"\n\
         username = {username}\npassword_file = \"secrets/smappee-password\"\nserial = {serial}\n\
         base_url = {base}\npoll_interval = {poll}\n\
         [recording]\nenabled = false\n",
        scenario = sc.path.display(),
        site = q(&sc.site_name),
        tz = q(sc.tz.name()),
        phases = sc.supply.phases.count(),
        voltage = sc.supply.voltage.0,
        fuse = sc
            .main_fuse
            .map(|f| format!("main_fuse_a = {}\n", f.0))
            .unwrap_or_default(),
        interval = q(&c.interval.to_string()),
        policy = q(&format!("policies/{}", policy_name.to_string_lossy())),
        setpoint = c.grid_setpoint_w,
        change = q(&c.min_change_interval.to_string()),
        ramp = c.ramp_a_per_s,
        efficiency = c.charge_efficiency,
        max_age = q(&m.max_age.to_string()),
        on_stale = q(match m.on_stale {
            config::surplus::OnStale::Floor => "floor",
            config::surplus::OnStale::Pause => "pause",
        }),
        stale_pause = q(&m.stale_pause_after.to_string()),
        unit = q(match ch.limit_unit {
            LimitUnit::Ampere => "ampere",
            LimitUnit::Percentage => "percentage",
        }),
        min = ch.min_current_a,
        max = ch.max_current_a,
        cable = ch
            .cable_a
            .map(|a| format!("cable_a = {a}\n"))
            .unwrap_or_default(),
        smappee_id = q(&emu.client_id),
        username = q(&emu.username),
        serial = q(&emu.station_serial),
        base = q(&smappee.base_url()),
        poll = q(&ch.state_poll.to_string()),
    );
    if sc.vehicle_api.enabled {
        let user = enode.vehicle().map(|v| v.user_id).unwrap_or_default();
        text.push_str(&format!(
            "[vehicle]\nkind = \"enode\"\ncapacity_kwh = {cap}\nmax_current_a = {car_max}\nmax_age = {age}\n\
             [enode]\nclient_id = {id}\nclient_secret_file = \"secrets/enode\"\nuser_id = {user}\n\
             vehicle_id = {vehicle}\napi_url = {api}\noauth_url = {oauth}\n",
            cap = car.capacity_kwh,
            car_max = car.max_current.0,
            age = q(&sc.vehicle_api.max_age.to_string()),
            id = q(enode::CLIENT_ID),
            user = q(&user),
            vehicle = q(&enode.vehicle_id()),
            api = q(&enode.api_url()),
            oauth = q(&enode.oauth_url()),
        ));
    } else {
        text.push_str(&format!(
            "[vehicle]\nkind = \"none\"\ncapacity_kwh = {}\nmax_current_a = {}\n",
            car.capacity_kwh, car.max_current.0
        ));
    }
    let path = dir.join("sunplug.toml");
    std::fs::write(&path, &text)?;
    let needs = Needs {
        mqtt: false,
        surplus: false,
        ..Needs::RUN
    };
    let cfg = config::load(&path, needs).map_err(|problems| {
        anyhow!(
            "the demo's config for {} does not load:\n{problems}",
            sc.path.display()
        )
    })?;
    if let Some(departure) = car.departure {
        let store = StateStore::open(&cfg.state_dir)?;
        let mut state = Persisted::default();
        state.settings.departure = Some(departure);
        store.save("state.json", &state)?;
    }
    Ok(cfg)
}
