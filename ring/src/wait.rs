//! Wait strategies: what a poller does when it found nothing to do.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How a polling loop idles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitStrategy {
    /// Busy-spin with a CPU pause hint: lowest latency, burns its core (production, pinned).
    Spin,
    /// Spin a while, then yield the core to the scheduler between polls.
    SpinYield,
    /// Spin briefly, then yield, then sleep in growing steps up to [`BACKOFF_MAX_SLEEP`]
    /// (laptops, CI, tests on two cores).
    #[default]
    Backoff,
}

/// Polls that only spin before a `SpinYield`/`Backoff` waiter starts yielding.
const SPIN_STEPS: u32 = 64;
/// Polls that yield before a `Backoff` waiter starts sleeping.
const YIELD_STEPS: u32 = 16;
/// The first sleep of a `Backoff` waiter.
const BACKOFF_MIN_SLEEP: Duration = Duration::from_micros(20);
/// The longest single sleep of a `Backoff` waiter: bounds the latency it adds.
pub const BACKOFF_MAX_SLEEP: Duration = Duration::from_millis(1);

impl FromStr for WaitStrategy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "spin" => Ok(Self::Spin),
            "spin-yield" => Ok(Self::SpinYield),
            "backoff" => Ok(Self::Backoff),
            other => Err(format!(
                "unknown wait strategy {other:?}: expected spin, spin-yield or backoff"
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
        })
    }
}

/// One poller's idle state. Call [`Waiter::idle`] after every empty poll and
/// [`Waiter::reset`] after every poll that found work.
#[derive(Debug, Clone)]
pub struct Waiter {
    strategy: WaitStrategy,
    idle_polls: u32,
}

impl Waiter {
    /// A waiter that idles with `strategy`.
    pub fn new(strategy: WaitStrategy) -> Self {
        Self {
            strategy,
            idle_polls: 0,
        }
    }

    /// The strategy this waiter follows.
    pub fn strategy(&self) -> WaitStrategy {
        self.strategy
    }

    /// One bounded idle step: a pause hint, a yield, or a sleep of at most
    /// [`BACKOFF_MAX_SLEEP`].
    #[inline]
    pub fn idle(&mut self) {
        let polls = self.idle_polls;
        self.idle_polls = polls.saturating_add(1);
        match self.strategy {
            WaitStrategy::Spin => std::hint::spin_loop(),
            WaitStrategy::SpinYield if polls < SPIN_STEPS => std::hint::spin_loop(),
            WaitStrategy::SpinYield => std::thread::yield_now(),
            WaitStrategy::Backoff => backoff_step(polls),
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
        ] {
            assert_eq!(strategy.to_string().parse::<WaitStrategy>(), Ok(strategy));
        }
        assert_eq!(WaitStrategy::default(), WaitStrategy::Backoff);
        let error = "busy".parse::<WaitStrategy>().unwrap_err();
        assert!(
            error.contains("busy") && error.contains("spin-yield"),
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
}
