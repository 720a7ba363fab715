//! The clock and the random source the session logic runs on: the host's
//! (WASI clocks and random in the component), the OS's natively, or a fixed
//! one for fuzzing.

use crate::time::Time;

/// The clock and the random source.
pub trait System {
    /// The wall-clock time now.
    fn now(&self) -> Time;
    /// A monotonic clock in nanoseconds, for time budgets.
    fn monotonic_nanos(&self) -> u64;
    /// Fills `buf` from a cryptographically secure generator.
    fn fill_random(&self, buf: &mut [u8]);
    /// Waits about `nanos` nanoseconds (the default spins on the monotonic
    /// clock).
    fn sleep(&self, nanos: u64) {
        let until = self.monotonic_nanos().saturating_add(nanos);
        while self.monotonic_nanos() < until {
            std::hint::spin_loop();
        }
    }
}
