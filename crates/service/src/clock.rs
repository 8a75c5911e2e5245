//! Time, injectable so tests can say what "now" and "today" are.

use std::sync::Mutex;

use jiff::Timestamp as Instant;

/// Where the service gets the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that says what it is told, for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<Instant>);

impl FixedClock {
    /// A clock stopped at this instant.
    pub fn new(now: Instant) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock to this instant.
    pub fn set(&self, now: Instant) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Instant {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
