//! Complete training settings, shared by the desktop and the firmware so that both can run
//! exactly the same training.

use crate::optim::{AdamConfig, Schedule};
use crate::{GeneratorLoss, StepConfig};

/// Everything that fixes a training run besides the networks and the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    /// Generator updates.
    pub steps: u32,
    /// Minibatch size, Discriminator updates per Generator update, Generator objective.
    pub step: StepConfig,
    /// Adam settings of the Generator (its `lr` is the rate before the schedule).
    pub g_adam: AdamConfig,
    /// Adam settings of the Discriminator.
    pub d_adam: AdamConfig,
    /// How both learning rates change over the run.
    pub schedule: Schedule,
    /// Seed of every random stream, see [`streams`](crate::streams).
    pub seed: u64,
}

impl Recipe {
    /// The learning rates `(generator, discriminator)` for 1-based `step`.
    pub fn learning_rates(&self, step: u32) -> (f32, f32) {
        let f = self.schedule.factor(step, self.steps);
        (self.g_adam.lr * f, self.d_adam.lr * f)
    }
}

/// Adam with lr 1e-3 and β₁ = 0.5, the 2-D mixtures' setting on the desktop.
const POINTS_ADAM: AdamConfig = AdamConfig {
    lr: 1e-3,
    ..AdamConfig::GAN
};

/// Ring8 sized for a microcontroller: [`TinyPointsGenerator`] and
/// [`TinyPointsDiscriminator`], 8,000 steps of batch 64, Adam lr 1e-3 and β₁ = 0.5 with the
/// half-linear decay, seed 1.
///
/// A step of this run takes about 2.9 million instructions on a Cortex-M4F (measured on
/// QEMU), 23 billion for the run; a step of the desktop's ring8 run (the 64-wide pair,
/// batch 128, 20,000 steps) has thirteen times the multiply-adds. In desktop trials over
/// seeds 1 to 10 this run captured all eight modes every time, with 44 to 81 % of the
/// points high quality (the desktop's run reaches 90 % and more).
///
/// [`TinyPointsGenerator`]: crate::models::TinyPointsGenerator
/// [`TinyPointsDiscriminator`]: crate::models::TinyPointsDiscriminator
pub const RING8_DEVICE: Recipe = Recipe {
    steps: 8_000,
    step: StepConfig {
        batch: 64,
        d_steps: 1,
        g_loss: GeneratorLoss::NonSaturating,
    },
    g_adam: POINTS_ADAM,
    d_adam: POINTS_ADAM,
    schedule: Schedule::HalfLinear,
    seed: 1,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_rates_decay_to_zero_over_the_second_half() {
        let r = RING8_DEVICE;
        assert_eq!(r.learning_rates(1), (1e-3, 1e-3));
        assert_eq!(r.learning_rates(4_000), (1e-3, 1e-3));
        // 1e-3 times the rounded factor 1/4000: within one rounding of 2.5e-7
        let last = r.learning_rates(8_000).0;
        assert!((last - 2.5e-7).abs() <= 2.5e-7 * f32::EPSILON, "{last}");
    }
}
