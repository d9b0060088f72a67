//! The `main` functions of the emulated boards' programs, written once.
//!
//! A board crate that offers `board()` (its [`Board`](crate::Board)), `args()` (the
//! [`Args`](crate::args::Args) of its command line) and `exit(Outcome) -> !` gets each
//! program from one line in its binary:
//!
//! ```ignore
//! picogan_firmware::sample_main!(picogan_qemu, picogan_firmware::model::Int8);
//! picogan_firmware::train_main!(picogan_qemu, picogan::models::TINY_WIDTH, picogan::Q16);
//! ```
//!
//! The binary needs `cortex-m-rt` and, for `train_main!`, `static_cell` among its
//! dependencies.

/// `main` of a `sample` program: draws `--n` samples (default
/// [`DEFAULT_N`](crate::sample::DEFAULT_N)) with `--seed` (default 1) from `$model`, the
/// embedded f32 or int8 Generator, and exits with the outcome.
#[macro_export]
macro_rules! sample_main {
    ($board:ident, $model:expr) => {
        #[cortex_m_rt::entry]
        fn main() -> ! {
            let mut b = $board::board();
            let args = $board::args();
            let n = args.n.unwrap_or($crate::sample::DEFAULT_N);
            let seed = args.seed.unwrap_or(1);
            let outcome = $crate::sample::run_and_signal(&mut b, $model, n, seed);
            $board::exit(outcome)
        }
    };
}

/// `main` of a `train` program: trains the pair `$width` wide in the scalar `$scalar`
/// with [`RING8_DEVICE`](picogan::recipe::RING8_DEVICE), `--seed` and `--steps` replacing
/// the recipe's, and exits with the outcome. The training state is a `static` of zeros in
/// `.bss`, placed by the linker rather than built on the stack.
#[macro_export]
macro_rules! train_main {
    ($board:ident, $width:expr, $scalar:ty) => {
        static GAN: static_cell::ConstStaticCell<$crate::train::DeviceGan<{ $width }, $scalar>> =
            static_cell::ConstStaticCell::new($crate::train::new_gan());

        #[cortex_m_rt::entry]
        fn main() -> ! {
            let mut b = $board::board();
            let args = $board::args();
            let device = picogan::recipe::RING8_DEVICE;
            let recipe = picogan::recipe::Recipe {
                seed: args.seed.unwrap_or(device.seed),
                steps: args.steps.unwrap_or(device.steps),
                ..device
            };
            let outcome = $crate::train::run_and_signal(&mut b, GAN.take(), &recipe);
            $board::exit(outcome)
        }
    };
}
