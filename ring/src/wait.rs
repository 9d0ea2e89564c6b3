//! Wait strategies: what a poller does when it found nothing to do.
//!
//! | strategy     | idle cost                 | wake-up after a record arrives          | pick it for           |
//! |--------------|---------------------------|-----------------------------------------|-----------------------|
//! | `spin`       | one core per poller, 100% | ~100 ns (a cache miss)                   | isolated, pinned cores |
//! | `spin-yield` | one core, given up to any runnable thread | ~100 ns, or a scheduler slice | cores shared with little |
//! | `backoff`    | a wake-up every <= 1 ms   | up to one sleep (20 us .. 1 ms)         | tests, when park is unavailable |
//! | `park`       | none (blocked in the kernel) | one futex wake (a few us)            | the default: shared cores, laptops, CI |

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::doorbell::{Doorbell, Parked};

/// How a polling loop idles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitStrategy {
    /// Busy-spin with a CPU pause hint: lowest latency, burns its core (production, pinned).
    Spin,
    /// Spin a while, then yield the core to the scheduler between polls.
    SpinYield,
    /// Spin briefly, then yield, then sleep in growing steps up to [`BACKOFF_MAX_SLEEP`]
    /// (tests on two cores; pollers with no doorbell).
    Backoff,
    /// Spin briefly, then park on the ring's doorbell (a futex) until the writer rings it or
    /// [`PARK_TIMEOUT`] passes: microsecond wake-ups, no core burnt while idle (the default).
    #[default]
    Park,
}

/// Polls that only spin before a `SpinYield`/`Backoff` waiter starts yielding.
const SPIN_STEPS: u32 = 64;
/// Polls that yield before a `Backoff` waiter starts sleeping.
const YIELD_STEPS: u32 = 16;
/// The first sleep of a `Backoff` waiter.
const BACKOFF_MIN_SLEEP: Duration = Duration::from_micros(20);
/// The longest single sleep of a `Backoff` waiter: bounds the latency it adds.
pub const BACKOFF_MAX_SLEEP: Duration = Duration::from_millis(1);
/// Polls that only spin before a `Park` waiter parks: a few microseconds, so that a record
/// that follows closely is taken without the wake-up's syscalls on either side.
const PARK_SPIN_STEPS: u32 = 256;
/// The longest a `Park` waiter stays parked without a ring: the bound on every wait, and how
/// often an idle poller looks at its other duties (heartbeats, stop flags).
pub const PARK_TIMEOUT: Duration = Duration::from_millis(50);

impl FromStr for WaitStrategy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "spin" => Ok(Self::Spin),
            "spin-yield" => Ok(Self::SpinYield),
            "backoff" => Ok(Self::Backoff),
            "park" => Ok(Self::Park),
            other => Err(format!(
                "unknown wait strategy {other:?}: expected spin, spin-yield, backoff or park"
            )),
        }
    }
}

impl fmt::Display for WaitStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Spin => "spin",
            Self::SpinYield => "spin-yield",
            Self::Backoff => "backoff",
            Self::Park => "park",
        })
    }
}

/// One poller's idle state. Call [`Waiter::idle`] after every empty poll and
/// [`Waiter::reset`] after every poll that found work.
#[derive(Debug, Clone)]
pub struct Waiter {
    strategy: WaitStrategy,
    idle_polls: u32,
    /// Whether this waiter lowered its thread's timer slack (before its first sleep).
    slack_lowered: bool,
    /// The longest one park lasts.
    park_timeout: Duration,
}

impl Waiter {
    /// A waiter that idles with `strategy`.
    pub fn new(strategy: WaitStrategy) -> Self {
        Self {
            strategy,
            idle_polls: 0,
            slack_lowered: false,
            park_timeout: PARK_TIMEOUT,
        }
    }

    /// Parks at most `timeout` at a time (at most [`PARK_TIMEOUT`]): for a caller with a
    /// deadline of its own.
    pub fn set_park_timeout(&mut self, timeout: Duration) {
        self.park_timeout = timeout.min(PARK_TIMEOUT);
    }

    /// The strategy this waiter follows.
    pub fn strategy(&self) -> WaitStrategy {
        self.strategy
    }

    /// One bounded idle step for a poller with no doorbell: a pause hint, a yield, or a
    /// sleep of at most [`BACKOFF_MAX_SLEEP`] (`Park` sleeps like `Backoff` here).
    #[inline]
    pub fn idle(&mut self) {
        let polls = self.idle_polls;
        self.idle_polls = polls.saturating_add(1);
        match self.strategy {
            WaitStrategy::Spin => std::hint::spin_loop(),
            WaitStrategy::SpinYield if polls < SPIN_STEPS => std::hint::spin_loop(),
            WaitStrategy::SpinYield => std::thread::yield_now(),
            WaitStrategy::Backoff | WaitStrategy::Park => {
                if polls >= SPIN_STEPS + YIELD_STEPS {
                    self.lower_timer_slack();
                }
                backoff_step(polls)
            }
        }
    }

    /// One bounded idle step for a poller whose writer rings `bell` after publishing. With
    /// `Park`, after the first spins it parks until rung or [`PARK_TIMEOUT`]; `ready` re-checks
    /// the ring after the announcement (see [`Doorbell::park`]). Other strategies ignore the
    /// bell. Returns how the park ended, `None` if this step did not park.
    #[inline]
    pub fn idle_on(&mut self, bell: &Doorbell, ready: impl FnOnce() -> bool) -> Option<Parked> {
        if self.strategy != WaitStrategy::Park {
            self.idle();
            return None;
        }
        if self.idle_polls < PARK_SPIN_STEPS {
            self.idle_polls += 1;
            std::hint::spin_loop();
            return None;
        }
        self.lower_timer_slack();
        Some(bell.park(self.park_timeout, ready))
    }

    #[cold]
    fn lower_timer_slack(&mut self) {
        if !std::mem::replace(&mut self.slack_lowered, true) {
            crate::futex::set_min_timer_slack();
        }
    }

    /// Back to the first (cheapest) step: call after a poll that found work.
    #[inline]
    pub fn reset(&mut self) {
        self.idle_polls = 0;
    }
}

/// The `polls`-th idle step of the backoff strategy.
fn backoff_step(polls: u32) {
    if polls < SPIN_STEPS {
        std::hint::spin_loop();
    } else if polls < SPIN_STEPS + YIELD_STEPS {
        std::thread::yield_now();
    } else {
        std::thread::sleep(backoff_sleep(polls - SPIN_STEPS - YIELD_STEPS));
    }
}

/// Sleep for the `step`-th sleeping poll: doubling from the minimum, capped.
fn backoff_sleep(step: u32) -> Duration {
    let doubled = BACKOFF_MIN_SLEEP.saturating_mul(1u32 << step.min(16));
    doubled.min(BACKOFF_MAX_SLEEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for strategy in [
            WaitStrategy::Spin,
            WaitStrategy::SpinYield,
            WaitStrategy::Backoff,
            WaitStrategy::Park,
        ] {
            assert_eq!(strategy.to_string().parse::<WaitStrategy>(), Ok(strategy));
        }
        assert_eq!(WaitStrategy::default(), WaitStrategy::Park);
        let error = "busy".parse::<WaitStrategy>().unwrap_err();
        assert!(
            error.contains("busy") && error.contains("spin-yield") && error.contains("park"),
            "{error}"
        );
    }

    #[test]
    fn backoff_sleeps_grow_and_stay_bounded() {
        assert_eq!(backoff_sleep(0), BACKOFF_MIN_SLEEP);
        assert!(backoff_sleep(1) > backoff_sleep(0));
        assert_eq!(backoff_sleep(40), BACKOFF_MAX_SLEEP);
        assert_eq!(backoff_sleep(u32::MAX - 100), BACKOFF_MAX_SLEEP);
    }

    #[test]
    #[cfg_attr(miri, ignore)] // sleeps
    fn a_backoff_idle_step_is_bounded_in_time() {
        let mut waiter = Waiter::new(WaitStrategy::Backoff);
        for _ in 0..200 {
            waiter.idle();
        }
        let started = std::time::Instant::now();
        waiter.idle();
        assert!(started.elapsed() < BACKOFF_MAX_SLEEP * 50);
        waiter.reset();
        let started = std::time::Instant::now();
        waiter.idle();
        assert!(started.elapsed() < Duration::from_millis(20));
    }

    #[test]
    #[cfg_attr(miri, ignore)] // futex syscalls
    fn a_park_waiter_spins_first_then_parks_bounded_and_other_strategies_ignore_the_bell() {
        let bell = Doorbell::new();
        let mut waiter = Waiter::new(WaitStrategy::Park);
        for _ in 0..PARK_SPIN_STEPS {
            assert_eq!(
                waiter.idle_on(&bell, || panic!("no re-check while spinning")),
                None
            );
        }
        assert_eq!(waiter.idle_on(&bell, || true), Some(Parked::Ready));
        let started = std::time::Instant::now();
        assert_eq!(waiter.idle_on(&bell, || false), Some(Parked::TimedOut));
        assert!(started.elapsed() >= PARK_TIMEOUT - Duration::from_millis(1));
        assert!(started.elapsed() < PARK_TIMEOUT * 40);
        waiter.reset();
        assert_eq!(waiter.idle_on(&bell, || panic!("spinning again")), None);
        let mut backoff = Waiter::new(WaitStrategy::Backoff);
        for _ in 0..200 {
            assert_eq!(
                backoff.idle_on(&bell, || panic!("backoff never parks")),
                None
            );
        }
    }
}
