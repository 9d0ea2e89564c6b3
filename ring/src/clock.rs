//! Liveness: a clock every process on the machine agrees on, and pid checks.

/// Nanoseconds of CLOCK_MONOTONIC: the same clock in every process of the
/// machine, so one process can judge another's heartbeat. Never 0.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    (now.tv_sec as u64) * 1_000_000_000 + (now.tv_nsec as u64) + 1
}

/// Whether a process with this pid exists (a zombie counts as existing until reaped).
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled; nothing is sent.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether a heartbeat stamped at `beat_ns` is younger than `max_age_ns` now.
pub fn heartbeat_fresh(beat_ns: u64, max_age_ns: u64) -> bool {
    beat_ns != 0 && monotonic_ns().saturating_sub(beat_ns) <= max_age_ns
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;

    #[test]
    fn own_pid_is_alive_and_a_reaped_child_is_not() {
        assert!(pid_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_alive(pid));
        assert!(!pid_alive(0));
    }

    #[test]
    fn heartbeats_age() {
        let beat = monotonic_ns();
        assert!(heartbeat_fresh(beat, 1_000_000_000));
        assert!(!heartbeat_fresh(0, u64::MAX));
        assert!(!heartbeat_fresh(
            beat.saturating_sub(2_000_000_000),
            1_000_000_000
        ));
    }
}
