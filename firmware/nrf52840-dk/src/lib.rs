//! picogan's firmware programs on the nRF52840-DK (PCA10056): an nRF52840, a Cortex-M4 with
//! single-precision FPU at 64 MHz, 1 MiB of flash and 256 KiB of RAM.
//!
//! The board behind the traits of [`picogan_firmware::Board`]:
//!
//! - LED1 (P0.13, lit when low) is the status LED;
//! - SysTick gives busy-wait delays (nrf52840-hal's `Delay`);
//! - the DWT cycle counter is the work counter, in core clock cycles;
//! - the RNG peripheral, through [`HardwareRng`], draws the seed of each run.
//!
//! The defmt log goes over RTT to probe-rs, which decodes it. Programs end with a
//! semihosting exit call, which probe-rs answers by ending `probe-rs run` with the
//! program's status; a panic ends it with an error.
#![no_std]

use core::convert::Infallible;
use cortex_m::peripheral::DWT;
use defmt_rtt as _;
use embedded_hal::digital::{ErrorType, OutputPin};
use nrf52840_hal::gpio::{p0, Level, Output, Pin, PushPull};
use nrf52840_hal::{pac, Delay};
use panic_probe as _;
use picogan_firmware::{Board, Outcome, WorkCounter};

/// The board, set up.
pub type Dk = Board<ActiveLow<Pin<Output<PushPull>>>, Delay, CycleCounter>;

/// Seed fixed at build time with `PICOGAN_SEED`, to repeat a run on the desktop; without
/// it, each run draws its seed from the hardware RNG.
pub const FIXED_SEED: Option<&str> = option_env!("PICOGAN_SEED");

/// Takes the peripherals and sets up the LED, the delay, the cycle counter and the RNG.
/// Call once, at the start of `main`: a second call panics.
pub fn board() -> (Dk, HardwareRng<nrf52840_hal::Rng>) {
    let mut core = pac::CorePeripherals::take().expect("board() is called once");
    let p = pac::Peripherals::take().expect("board() is called once");
    core.DCB.enable_trace();
    core.DWT.enable_cycle_counter();
    let led = p0::Parts::new(p.P0)
        .p0_13
        .into_push_pull_output(Level::High)
        .degrade();
    let board = Board {
        led: ActiveLow(led),
        delay: Delay::new(core.SYST),
        counter: CycleCounter,
    };
    (board, HardwareRng(nrf52840_hal::Rng::new(p.RNG)))
}

/// The seed of a run: `PICOGAN_SEED` if it was set at build time, else 64 bits from the
/// hardware RNG. Logged, so that the desktop can repeat the run.
pub fn seed(rng: &mut HardwareRng<nrf52840_hal::Rng>) -> u64 {
    use picogan::rand_core::Rng;
    match FIXED_SEED.map(str::parse::<u64>) {
        Some(Ok(s)) => {
            defmt::info!("seed {=u64}, fixed at build time", s);
            s
        }
        Some(Err(_)) => {
            defmt::error!("PICOGAN_SEED is not a number");
            exit(Outcome::Usage)
        }
        None => {
            let s = rng.next_u64();
            defmt::info!("seed {=u64}, from the hardware RNG", s);
            s
        }
    }
}

/// An output pin whose device is on when the pin is low, such as the DK's LEDs: high
/// means on, as [`Board`] expects.
pub struct ActiveLow<P>(pub P);

impl<P: OutputPin> ErrorType for ActiveLow<P> {
    type Error = P::Error;
}

impl<P: OutputPin> OutputPin for ActiveLow<P> {
    fn set_low(&mut self) -> Result<(), P::Error> {
        self.0.set_high()
    }

    fn set_high(&mut self) -> Result<(), P::Error> {
        self.0.set_low()
    }
}

/// Core clock cycles, from the DWT cycle counter.
pub struct CycleCounter;

impl WorkCounter for CycleCounter {
    const UNIT: &'static str = "cycles";

    fn now(&mut self) -> u32 {
        DWT::cycle_count()
    }
}

/// A generator of the rand_core 0.9 traits (the HAL's `Rng`) seen through rand_core
/// 0.10's, which the core and the programs use. The nRF52840's RNG peripheral never fails,
/// so neither does this.
pub struct HardwareRng<R>(pub R);

impl<R: rand_core_09::RngCore> picogan::rand_core::TryRng for HardwareRng<R> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

/// Logs the peak stack use and ends the program with the outcome's exit status.
pub fn exit(outcome: Outcome) -> ! {
    picogan_firmware::stack::log_peak();
    semihosting::process::exit(outcome.code())
}
