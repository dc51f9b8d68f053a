//! Smappee's connector state words and what they say about the car. Pure; no I/O.
//!
//! Owns [`StateWord`] (the connector's `chargingState`, parsed case-insensitively), [`ConnectorMode`]
//! (`chargingMode`) and [`interpret`]: the words of one read → plugged / charging / paused, each
//! `None` when the words do not tell.
//!
//! Facts (vendor-apis.md §3.4, "Corrected 2026-12"; myny-git/smappee_ev `coordinators/mqtt_apply.py`
//! `_is_paused` and its tests, users' reports in smappee_ev #143 and #271):
//! - `chargingState` is a **session** state: `STARTED` while a session runs (users see `started` while
//!   the car charges), `SUSPENDED`, `STOPPED`, `INITIALIZE` (idle after a session). It is not
//!   `CHARGING`/`PAUSED`. The sessions endpoint uses `INITIAL`, `STARTED`, `CHARGING`, `SUSPENDED`,
//!   `STOPPING`, `STOPPED`; those words are read the same way.
//! - A pause is the connector's mode `PAUSED`, or `SUSPENDED` with the cause `SUSPENDED_EVSE…`
//!   (smappee_ev matches the prefix: `SUSPENDED_EVSE_USER` counts).
//! - `STOPPED` has been seen while a car charged (#143): measured power, where there is any, outranks
//!   every word (see `ChargerState::obs`).
//! - Any other word is **unknown**: never "not charging".
//!
//! Unconfirmed: the REST smart device (`GET /smartdevices/{id}`) is only known to carry
//! `chargingState` and `percentageLimit`; `chargingMode` and the cause (`status.current`) are
//! confirmed on the MQTT `.../property/chargingstate` payload only. sunplug reads them from the smart
//! device when present (a property named `chargingMode`; the cause from any property whose value
//! starts with `SUSPENDED_EV`). A `GET /smartdevices/{id}` dump from a station paused through the
//! mode endpoint would confirm where the REST answer carries them.

use std::fmt;

/// The connector's session state word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateWord {
    /// A session runs (the car is connected and, unless suspended, charging).
    Started,
    /// The sessions endpoint's word for a session drawing current.
    Charging,
    /// The session is suspended, by the car or by the station (see the cause).
    Suspended,
    /// The session ended (or is ending).
    Stopped,
    /// Idle: no session yet, or after one (`INITIALIZE`, the sessions endpoint's `INITIAL`).
    Initialize,
    /// A word sunplug does not know, as sent.
    Unknown(String),
}

impl StateWord {
    /// Parse a word, case-insensitively and ignoring surrounding blanks. `None` for an empty word.
    pub fn parse(word: &str) -> Option<StateWord> {
        let w = word.trim();
        if w.is_empty() {
            return None;
        }
        Some(match w.to_ascii_uppercase().as_str() {
            "STARTED" => StateWord::Started,
            "CHARGING" => StateWord::Charging,
            "SUSPENDED" => StateWord::Suspended,
            "STOPPED" | "STOPPING" => StateWord::Stopped,
            "INITIALIZE" | "INITIALIZING" | "INITIAL" => StateWord::Initialize,
            _ => StateWord::Unknown(w.to_string()),
        })
    }

    /// The word as sunplug reports it (`charger status --json` `session_state`).
    pub fn label(&self) -> &str {
        match self {
            StateWord::Started => "started",
            StateWord::Charging => "charging",
            StateWord::Suspended => "suspended",
            StateWord::Stopped => "stopped",
            StateWord::Initialize => "initialize",
            StateWord::Unknown(_) => "unknown",
        }
    }

    pub fn is_known(&self) -> bool {
        !matches!(self, StateWord::Unknown(_))
    }
}

impl fmt::Display for StateWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateWord::Unknown(w) => write!(f, "unknown ({w})"),
            known => f.write_str(known.label()),
        }
    }
}

/// The connector's mode as the station reports it (`chargingMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorMode {
    Paused,
    /// `NORMAL`, `STANDARD`, `SMART` or `SOLAR`: not paused.
    Running,
}

impl ConnectorMode {
    /// `None` for a word that is not a mode.
    pub fn parse(word: &str) -> Option<ConnectorMode> {
        match word.trim().to_ascii_uppercase().as_str() {
            "PAUSED" => Some(ConnectorMode::Paused),
            "NORMAL" | "STANDARD" | "SMART" | "SOLAR" => Some(ConnectorMode::Running),
            _ => None,
        }
    }
}

/// Who suspended a `SUSPENDED` session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspendCause {
    /// `SUSPENDED_EVSE…`: the station (a pause by us, the app or a schedule).
    Station,
    /// `SUSPENDED_EV…`: the car (full, or its own schedule).
    Car,
}

impl SuspendCause {
    pub fn parse(word: &str) -> Option<SuspendCause> {
        let w = word.trim().to_ascii_uppercase();
        if w.starts_with("SUSPENDED_EVSE") {
            Some(SuspendCause::Station)
        } else if w.starts_with("SUSPENDED_EV") {
            Some(SuspendCause::Car)
        } else {
            None
        }
    }
}

/// What one read's words say. `None` = the words do not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interpretation {
    pub plugged: Option<bool>,
    pub charging: Option<bool>,
    pub paused: Option<bool>,
}

/// Interpret the connector's state word (`None`: not reported), its mode and the suspension cause.
pub fn interpret(
    word: Option<&StateWord>,
    mode: Option<ConnectorMode>,
    cause: Option<SuspendCause>,
) -> Interpretation {
    let mode_paused = mode.map(|m| m == ConnectorMode::Paused);
    let mut i = match word {
        Some(StateWord::Started | StateWord::Charging) => Interpretation {
            plugged: Some(true),
            charging: Some(true),
            paused: Some(false),
        },
        Some(StateWord::Suspended) => Interpretation {
            plugged: Some(true),
            charging: Some(false),
            paused: cause.map(|c| c == SuspendCause::Station),
        },
        // The session is over or not begun: no current. Whether the cable is still in, the sessions
        // list says.
        Some(StateWord::Stopped | StateWord::Initialize) => Interpretation {
            plugged: None,
            charging: Some(false),
            paused: None,
        },
        Some(StateWord::Unknown(_)) | None => Interpretation::default(),
    };
    match mode_paused {
        // The mode endpoint's PAUSED leaves the session STARTED for a while (smappee_ev PR #156):
        // the mode wins, and a paused connector offers nothing.
        Some(true) => {
            i.paused = Some(true);
            if i.charging == Some(true) {
                i.charging = Some(false);
            }
        }
        Some(false) if i.paused.is_none() => i.paused = Some(false),
        _ => {}
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> StateWord {
        StateWord::parse(s).unwrap()
    }

    #[test]
    fn words_parse_case_insensitively_and_unknown_stays_unknown() {
        assert_eq!(w("started"), StateWord::Started);
        assert_eq!(w(" Suspended "), StateWord::Suspended);
        assert_eq!(w("STOPPED"), StateWord::Stopped);
        assert_eq!(w("Initialize"), StateWord::Initialize);
        assert_eq!(w("INITIAL"), StateWord::Initialize);
        assert_eq!(w("Available"), StateWord::Unknown("Available".into()));
        assert_eq!(w("Available").to_string(), "unknown (Available)");
        assert_eq!(StateWord::parse("  "), None);
    }

    #[test]
    fn started_is_charging_and_unknown_says_nothing() {
        let i = interpret(Some(&w("started")), None, None);
        assert_eq!(
            (i.plugged, i.charging, i.paused),
            (Some(true), Some(true), Some(false))
        );
        let i = interpret(Some(&w("FROBNICATING")), None, None);
        assert_eq!(
            i,
            Interpretation::default(),
            "unknown is not 'not charging'"
        );
        assert_eq!(interpret(None, None, None), Interpretation::default());
    }

    #[test]
    fn a_pause_is_the_mode_or_a_station_suspension() {
        let paused = |word: &str, mode, cause| interpret(Some(&w(word)), mode, cause).paused;
        assert_eq!(
            paused(
                "SUSPENDED",
                None,
                SuspendCause::parse("SUSPENDED_EVSE_USER")
            ),
            Some(true)
        );
        assert_eq!(
            paused("SUSPENDED", None, SuspendCause::parse("SUSPENDED_EV")),
            Some(false),
            "the car suspended it: not a pause"
        );
        assert_eq!(paused("SUSPENDED", None, None), None);
        assert_eq!(
            paused("SUSPENDED", ConnectorMode::parse("normal"), None),
            Some(false)
        );
        let i = interpret(Some(&w("STARTED")), ConnectorMode::parse("PAUSED"), None);
        assert_eq!((i.paused, i.charging), (Some(true), Some(false)));
        let i = interpret(Some(&w("Initialize")), ConnectorMode::parse("PAUSED"), None);
        assert_eq!(
            (i.plugged, i.charging, i.paused),
            (None, Some(false), Some(true))
        );
        assert_eq!(ConnectorMode::parse("SOLAR"), Some(ConnectorMode::Running));
        assert_eq!(ConnectorMode::parse("what"), None);
    }
}
