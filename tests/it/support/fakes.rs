//! Fakes of the daemon's ports shared by the daemon-loop tests: no vehicle source, and a grid meter
//! on topic "meter" whose payload is the grid's watts.

use chrono::{DateTime, Utc};
use std::time::Duration;
use sunplug::control::{MeterSample, Reading};
use sunplug::daemon::ports::{MeterOutput, TopicSource, VehiclePort, VehicleUpdate};
use sunplug::units::Watts;
use sunplug::vendor::VendorError;

/// No vehicle source: never polled.
pub struct NoVehicle;
impl VehiclePort for NoVehicle {
    async fn fetch(&mut self, _now: DateTime<Utc>) -> Result<VehicleUpdate, VendorError> {
        Ok(VehicleUpdate::default())
    }
    fn next_poll(
        &mut self,
        _now: DateTime<Utc>,
        _last: Option<&Result<VehicleUpdate, VendorError>>,
    ) -> Option<Duration> {
        None
    }
}

/// A grid meter on topic "meter", payload = grid watts.
#[derive(Default)]
pub struct GridMeter(Option<Reading<MeterSample>>);
impl TopicSource for GridMeter {
    type Output = MeterOutput;
    fn topics(&self) -> Vec<String> {
        vec!["meter".into()]
    }
    fn on_message(&mut self, topic: &str, payload: &[u8], _r: bool, now: DateTime<Utc>) -> bool {
        if topic != "meter" {
            return false;
        }
        if let Ok(w) = std::str::from_utf8(payload).unwrap_or("").parse::<f64>() {
            self.0 = Some(Reading::new(MeterSample::grid(Watts(w)), now));
        }
        true
    }
    fn latest(&self, _now: DateTime<Utc>) -> Option<MeterOutput> {
        self.0
    }
}
