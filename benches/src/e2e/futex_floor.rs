//! The floor of a parked hop: a ping-pong between two processes through the ring's own
//! doorbells (a futex word each in one shared page), open loop, both sides parked between
//! pings exactly as the engine and the edge's reader are at low rates. One round trip is two
//! wake-ups of a parked process; the order path has four parked hops (edge -> engine, engine
//! -> reader, reader -> request task, and the flusher in `sync`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use pinwheel_ring::{Doorbell, WaitStrategy, Waiter};

/// The shared page: the ping and its doorbell (parent -> child), the pong and its doorbell.
#[repr(C)]
struct Page {
    ping: AtomicU64,
    pong: AtomicU64,
    to_child: Doorbell,
    to_parent: Doorbell,
}

/// An anonymous shared mapping that a forked child keeps.
struct SharedPage(*mut Page);

impl SharedPage {
    fn new() -> anyhow::Result<Self> {
        // SAFETY: a fresh anonymous shared mapping of one page; no file, no aliasing.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        anyhow::ensure!(address != libc::MAP_FAILED, "mmap of the ping-pong page");
        Ok(Self(address.cast()))
    }

    fn page(&self) -> &Page {
        // SAFETY: the mapping is zeroed (a valid Page: atomics and quiet doorbells), aligned
        // to a page and alive until drop.
        unsafe { &*self.0 }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `new`, once.
        unsafe { libc::munmap(self.0.cast(), 4096) };
    }
}

/// The child: answers every ping until the ping is `u64::MAX`; parks between pings.
fn answer(page: &Page) -> ! {
    let mut waiter = Waiter::new(WaitStrategy::Park);
    let mut seen = 0;
    let give_up = Instant::now() + Duration::from_secs(120);
    while Instant::now() < give_up {
        let ping = page.ping.load(Ordering::Acquire);
        if ping == u64::MAX {
            break;
        }
        if ping == seen {
            waiter.idle_on(&page.to_child, || page.ping.load(Ordering::Acquire) != seen);
            continue;
        }
        seen = ping;
        waiter.reset();
        page.pong.store(ping, Ordering::Release);
        page.to_parent.ring();
    }
    // SAFETY: ends the forked child without running the parent's destructors or atexit hooks.
    unsafe { libc::_exit(0) }
}

/// `count` round trips at `rate` per second, latency from each ping's planned time to its pong.
/// Forks: call it while this process has a single thread.
pub fn measure(rate: u64, count: u64) -> anyhow::Result<Histogram<u64>> {
    anyhow::ensure!(rate > 0 && count > 0, "rate and count must be positive");
    let shared = SharedPage::new()?;
    // SAFETY: the child only touches the shared page, makes futex and clock calls and
    // `_exit`s; the caller guarantees no other thread holds a lock the child could need.
    let child = unsafe { libc::fork() };
    anyhow::ensure!(child >= 0, "fork failed");
    if child == 0 {
        answer(shared.page());
    }
    let result = pings(shared.page(), rate, count);
    shared.page().ping.store(u64::MAX, Ordering::Release);
    shared.page().to_child.ring();
    let mut status = 0;
    // SAFETY: reaps the child forked above.
    unsafe { libc::waitpid(child, &mut status, 0) };
    result
}

fn pings(page: &Page, rate: u64, count: u64) -> anyhow::Result<Histogram<u64>> {
    pinwheel_ring::set_min_timer_slack();
    let mut histogram = Histogram::new_with_bounds(1, 60_000_000_000, 3)?;
    let mut waiter = Waiter::new(WaitStrategy::Park);
    let start = Instant::now() + Duration::from_millis(20);
    for ping in 1..=count {
        let planned = start + Duration::from_nanos(ping * 1_000_000_000 / rate);
        if let Some(wait) = planned.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        page.ping.store(ping, Ordering::Release);
        page.to_child.ring();
        let deadline = Instant::now() + Duration::from_secs(5);
        waiter.reset();
        while page.pong.load(Ordering::Acquire) != ping {
            anyhow::ensure!(Instant::now() < deadline, "no pong for ping {ping}");
            waiter.idle_on(&page.to_parent, || {
                page.pong.load(Ordering::Acquire) == ping
            });
        }
        histogram.saturating_record(planned.elapsed().as_nanos().max(1) as u64);
    }
    Ok(histogram)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_pong_through_parked_processes_answers_every_ping_within_its_bound() {
        let histogram = measure(500, 50).unwrap();
        assert_eq!(histogram.len(), 50);
        assert!(
            histogram.max() < 5_000_000_000,
            "a round trip took {} ns",
            histogram.max()
        );
    }
}
