//! The few memory-mapped registers of the nRF51822 this firmware touches, and nothing
//! else: a [`Reg`] can only be one of the constants below, so reading and writing one is
//! safe.
#![allow(unsafe_code)]

/// A 32-bit peripheral register.
#[derive(Clone, Copy)]
pub(crate) struct Reg(usize);

/// TIMER0's base address (nRF51 Series Reference Manual v3.0, TIMER registers).
const TIMER0: usize = 0x4000_8000;
/// TIMER0's start task.
pub(crate) const TIMER0_START: Reg = Reg(TIMER0);
/// TIMER0's capture tasks 0 and 1: copy the counter into CC[0], CC[1].
pub(crate) const TIMER0_CAPTURE: [Reg; 2] = [Reg(TIMER0 + 0x040), Reg(TIMER0 + 0x044)];
/// TIMER0's counter width: 3 for 32 bits.
pub(crate) const TIMER0_BITMODE: Reg = Reg(TIMER0 + 0x508);
/// TIMER0's prescaler: the counter runs at 16 MHz / 2^PRESCALER.
pub(crate) const TIMER0_PRESCALER: Reg = Reg(TIMER0 + 0x510);
/// TIMER0's capture/compare registers 0 and 1.
pub(crate) const TIMER0_CC: [Reg; 2] = [Reg(TIMER0 + 0x540), Reg(TIMER0 + 0x544)];

/// GPIO port 0's base address (reference manual, GPIO registers).
const GPIO: usize = 0x5000_0000;
/// Drives the pins of the set bits high.
pub(crate) const GPIO_OUTSET: Reg = Reg(GPIO + 0x508);
/// Drives the pins of the set bits low.
pub(crate) const GPIO_OUTCLR: Reg = Reg(GPIO + 0x50C);
/// Makes the pins of the set bits outputs.
pub(crate) const GPIO_DIRSET: Reg = Reg(GPIO + 0x518);

impl Reg {
    /// Reads the register.
    pub(crate) fn read(self) -> u32 {
        // SAFETY: `self.0` is one of the aligned peripheral register addresses above,
        // mapped on every nRF51822; reading them has no side effect.
        unsafe { core::ptr::read_volatile(self.0 as *const u32) }
    }

    /// Writes the register.
    pub(crate) fn write(self, value: u32) {
        // SAFETY: as for `read`; these registers accept any value written here, and no
        // Rust object lives at these addresses.
        unsafe { core::ptr::write_volatile(self.0 as *mut u32, value) }
    }
}
