//! Tests of the actuator.
use super::*;
