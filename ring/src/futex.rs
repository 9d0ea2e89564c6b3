//! The two Linux calls a parked thread needs: a futex on a word of a shared mapping, and the
//! minimum timer slack for the sleeps that remain.
//!
//! The futex calls are the shared (not `FUTEX_PRIVATE_FLAG`) variants: the word lives in a
//! file mapped by several processes, and the kernel keys a shared futex by the file page and
//! offset, so a writer's `FUTEX_WAKE` through its mapping reaches a reader waiting through its
//! own. The shared variants work on private memory too (the journal's in-process flusher).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Blocks while `word` holds `expected`, for at most `timeout`. Returns at once if the word
/// differs (the kernel compares under its own lock, so a wake between the caller's check and
/// this call is never missed), on a wake, on a signal, or when the time is up.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call and `timeout` a valid
    // relative timespec; FUTEX_WAIT only reads the word. Every outcome (woken, EAGAIN for a
    // changed word, ETIMEDOUT, EINTR) means "look again", so the result is not needed.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &timeout as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every thread of any process waiting on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE neither reads nor writes it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Sets the calling thread's timer slack to 1 ns: by default the kernel may let a sleep run
/// 50 us late to batch wake-ups, so a 20 us sleep lasts ~70 us. Per thread, so every thread
/// that sleeps calls it once (a [`crate::Waiter`] does so before its first sleep).
pub fn set_min_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches no memory.
    let rc = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0) };
    if rc != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "could not lower the timer slack; sleeps may overrun by up to 50 us"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    #[cfg_attr(miri, ignore)] // syscalls
    fn a_wait_on_a_changed_word_returns_at_once_and_an_unchanged_one_is_bounded() {
        let word = AtomicU32::new(5);
        let started = Instant::now();
        wait(&word, 4, Duration::from_secs(5));
        assert!(started.elapsed() < Duration::from_secs(1), "EAGAIN path");
        let started = Instant::now();
        wait(&word, 5, Duration::from_millis(20));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(19), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    #[cfg_attr(miri, ignore)] // syscalls
    fn a_wake_releases_a_waiting_thread_long_before_its_bound() {
        let word = std::sync::Arc::new(AtomicU32::new(0));
        let waiter = {
            let word = std::sync::Arc::clone(&word);
            std::thread::spawn(move || {
                let started = Instant::now();
                while word.load(std::sync::atomic::Ordering::Acquire) == 0 {
                    wait(&word, 0, Duration::from_secs(10));
                }
                started.elapsed()
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        word.store(1, std::sync::atomic::Ordering::Release);
        wake_all(&word);
        let waited = waiter.join().unwrap();
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        set_min_timer_slack();
    }
}
