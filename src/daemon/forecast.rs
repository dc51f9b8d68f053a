//! The daemon's solar forecast: fetched from forecast.solar or Open-Meteo every `refresh` by a task
//! shaped like the price task (backoff on errors, a provider's wait honoured), or received on the
//! `[forecast] topic` over the one MQTT link. Each forecast reaches the loop as PV and surplus with
//! the time it was fetched; the controller's outlook ignores it once older than `max_age`, so a
//! provider that stays down never leaves an old forecast in charge.
//!
//! Owns: [`ForecastFeed`] (what the loop holds: topics to subscribe, MQTT messages, new forecasts
//! into the outlook, the PV energy left today for Home Assistant), [`spawn`] (the fetch task) and
//! [`fetch_once`] (`sunplug plan`'s one fetch).
//! Rate budget: the first retry after an error waits 5 minutes per call a refresh makes (12 calls an
//! hour at most, forecast.solar's free tier) and the wait doubles up to `refresh`.

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::config::MqttSection;
use crate::config::forecast::{ForecastSection, ForecastSource};
use crate::control::plan::outlook::Outlook;
use crate::control::plan::series::Series;
use crate::mqtt::{FirstMessage, MqttOptions, first_message};
use crate::sources::forecast::{self, Forecast};
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use secrecy::SecretString;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A forecast and when it was fetched (or received).
pub type Fetched = Option<(Forecast, DateTime<Utc>)>;

/// The least wait per call after a failed fetch.
const RETRY_PER_CALL: Duration = Duration::from_secs(300);

/// What the loop holds for `[forecast]`.
pub struct ForecastFeed {
    section: ForecastSection,
    tz: Tz,
    tx: watch::Sender<Fetched>,
    rx: watch::Receiver<Fetched>,
    _task: Option<tokio::task::JoinHandle<()>>,
}

impl ForecastFeed {
    /// Start fetching (HTTP sources) or wait for messages (`mqtt`).
    pub fn start(
        section: ForecastSection,
        tz: Tz,
        clock: Arc<dyn Clock>,
        stop: CancellationToken,
        speed: f64,
    ) -> ForecastFeed {
        let (tx, rx) = watch::channel::<Fetched>(None);
        let task = (section.source != Some(ForecastSource::Mqtt))
            .then(|| spawn(section.clone(), tz, clock, tx.clone(), stop, speed));
        ForecastFeed {
            section,
            tz,
            tx,
            rx,
            _task: task,
        }
    }

    /// The topic to subscribe to, for an MQTT forecast.
    pub fn topics(&self) -> Vec<String> {
        match (&self.section.source, &self.section.topic) {
            (Some(ForecastSource::Mqtt), Some(t)) => vec![t.clone()],
            _ => Vec::new(),
        }
    }

    /// Take a message if it is on the forecast topic (true), whether or not it parses: a payload
    /// that is not a forecast is logged and the forecast in use stays.
    pub fn on_message(&mut self, topic: &str, payload: &[u8], now: DateTime<Utc>) -> bool {
        if !self.topics().iter().any(|t| t == topic) {
            return false;
        }
        match forecast::mqtt::parse(payload) {
            Ok(pv) => {
                let f = Forecast::new(pv, &self.section, self.tz);
                self.tx.send_replace(Some((f, now)));
            }
            Err(e) => warn!("forecast on {topic} ignored: {e}"),
        }
        true
    }

    /// Hand a new forecast to the outlook; true when it changed.
    pub fn poll(&mut self, outlook: &mut Outlook) -> bool {
        if !self.rx.has_changed().unwrap_or(false) {
            return false;
        }
        let Some((f, at)) = self.rx.borrow_and_update().clone() else {
            return false;
        };
        outlook.forecast_max_age = self.section.max_age.get();
        outlook.set_forecast(f.surplus, at);
        true
    }

    /// The PV energy the forecast still expects today, kWh, while it is fresh.
    pub fn remaining_today_kwh(&self, now: DateTime<Utc>) -> Option<f64> {
        let rx = self.rx.borrow();
        let (f, at) = rx.as_ref()?;
        let fresh = (now - *at).to_std().unwrap_or(Duration::ZERO) <= self.section.max_age.get();
        fresh.then(|| forecast::remaining_today_kwh(&f.pv, self.tz, now))
    }
}

/// The broker an MQTT forecast is read from, for [`fetch_once`].
pub struct Broker<'a> {
    pub section: &'a MqttSection,
    pub password: Option<&'a SecretString>,
    /// The config's directory (TLS files are relative to it).
    pub dir: &'a Path,
    /// How long to wait for the forecast (a retained one comes at once).
    pub wait: Duration,
}

/// One fetch into `outlook`, for `sunplug plan`: the provider's forecast, or the first message on
/// the MQTT topic (retained, or published within the broker's `wait`). Returns a note when the plan
/// counts on no sun (no `[forecast]`).
pub async fn fetch_once(
    section: Option<&ForecastSection>,
    broker: Option<Broker<'_>>,
    tz: Tz,
    now: DateTime<Utc>,
    outlook: &mut Outlook,
) -> anyhow::Result<Option<&'static str>> {
    let Some(f) = section else {
        return Ok(Some(
            "no [forecast] in the config: the plan counts on no sun",
        ));
    };
    let pv = if f.source == Some(ForecastSource::Mqtt) {
        let broker = broker.context("[forecast] source = \"mqtt\" needs the [mqtt] section")?;
        mqtt_once(f, &broker).await?
    } else {
        let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
        forecast::fetch(f, &http, tz, now)
            .await
            .map_err(|e| anyhow!("fetching the solar forecast: {e}"))?
    };
    outlook.forecast_max_age = f.max_age.get();
    outlook.set_forecast(Forecast::new(pv, f, tz).surplus, now);
    Ok(None)
}

async fn mqtt_once(f: &ForecastSection, b: &Broker<'_>) -> anyhow::Result<Series> {
    let topic = f.topic.clone().context("[forecast] topic is missing")?;
    let options = MqttOptions::from_section(b.section, b.password, b.dir, "-plan-forecast")
        .map_err(|e| anyhow!(e))?;
    match first_message(options, &topic, b.wait)
        .await
        .map_err(|e| anyhow!(e))?
    {
        FirstMessage::Payload(p) => forecast::mqtt::parse(&p)
            .map_err(|e| anyhow!("the forecast on {topic} was refused: {e}")),
        FirstMessage::Nothing { broker } => bail!(
            "no forecast on {topic} within {}{}: is it published (retained) on {}:{}?",
            humantime::format_duration(b.wait),
            broker
                .map(|e| format!(" (broker: {e})"))
                .unwrap_or_default(),
            b.section.host,
            b.section.port
        ),
    }
}

/// The fetch task: every `refresh`, or after a failure the backoff's wait (a 429's own wait when
/// longer), until `stop`.
pub fn spawn(
    section: ForecastSection,
    tz: Tz,
    clock: Arc<dyn Clock>,
    tx: watch::Sender<Fetched>,
    stop: CancellationToken,
    speed: f64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
        let refresh = section.refresh.get();
        let first = (RETRY_PER_CALL * section.calls_per_refresh().max(1)).min(refresh);
        let mut backoff = Backoff::new(first, refresh);
        loop {
            let now = clock.now();
            let result = tokio::select! {
                _ = stop.cancelled() => return,
                r = forecast::fetch(&section, &http, tz, now) => r,
            };
            let wait = match result {
                Ok(pv) => {
                    if backoff.failures() > 0 {
                        info!("forecast: fetched again ({} intervals)", pv.points().len());
                    }
                    backoff.reset();
                    tx.send_replace(Some((Forecast::new(pv, &section, tz), now)));
                    refresh
                }
                Err(e) => {
                    let own = backoff.next_delay();
                    let wait = e.retry_after().map_or(own, |r| r.max(own));
                    warn!("forecast: {e}; next try in {}s", wait.as_secs());
                    wait
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait.div_f64(speed.max(1e-3))) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_plan_says_when_it_counts_on_no_sun_and_why_it_cannot_fetch() {
        let now: DateTime<Utc> = "2026-06-01T08:00:00Z".parse().unwrap();
        let mut o = Outlook::new(0.3);
        let note = fetch_once(None, None, chrono_tz::UTC, now, &mut o)
            .await
            .unwrap();
        assert!(note.unwrap().contains("no [forecast]"));
        let mqtt: ForecastSection =
            toml::from_str("source = \"mqtt\"\ntopic = \"t\"\nhouse_load_w = 1").unwrap();
        let e = fetch_once(Some(&mqtt), None, chrono_tz::UTC, now, &mut o)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("[mqtt]"), "{e}");
        assert_eq!(o.forecast, None);
        // A provider that cannot be reached is an error that says what was fetched.
        let down: ForecastSection = toml::from_str(
            "source = \"open_meteo\"\nbase_url = \"http://127.0.0.1:9\"\nlatitude = 1\n\
             longitude = 1\nhouse_load_w = 1\n[[planes]]\ndeclination = 30\nazimuth = 0\nkwp = 1",
        )
        .unwrap();
        let e = fetch_once(Some(&down), None, chrono_tz::UTC, now, &mut o)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("solar forecast"), "{e}");
    }
}
