//! The clock and random source every flavour uses: `wasi:clocks` and
//! `wasi:random`.

use crate::system::System;
use crate::time::Time;

/// The WASI wall clock and CSPRNG.
pub struct WasiSystem;

impl System for WasiSystem {
    fn now(&self) -> Time {
        let now = wasip2::clocks::wall_clock::now();
        Time::new(now.seconds as i64, now.nanoseconds)
    }

    fn monotonic_nanos(&self) -> u64 {
        wasip2::clocks::monotonic_clock::now()
    }

    fn sleep(&self, nanos: u64) {
        wasip2::clocks::monotonic_clock::subscribe_duration(nanos).block();
    }

    fn fill_random(&self, buf: &mut [u8]) {
        let bytes = wasip2::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes[..buf.len()]);
    }
}
