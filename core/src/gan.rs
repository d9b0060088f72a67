//! The adversarial training step.
//!
//! Dimensions: the Generator maps `[S; Z]` noise to `[S; X]` data; the Discriminator
//! maps `[S; X]` to one logit, `[S; 1]`, where `S` is the networks' [`Scalar`]. A
//! minibatch of `B` samples is processed one sample at a time, so no buffer grows with `B`.

use crate::layer::{Layer, Vector};
use crate::loss::{self, GeneratorLoss};
use crate::optim::Optimizer;
use crate::Scalar;

/// Settings of one [`Gan::step`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepConfig {
    /// Minibatch size `B` of every update, real and generated alike.
    pub batch: u32,
    /// Discriminator updates per Generator update, `k` in Goodfellow et al. 2014, alg. 1.
    pub d_steps: u32,
    /// The Generator's objective.
    pub g_loss: GeneratorLoss,
}

impl StepConfig {
    /// Batch 64, one Discriminator update per Generator update, non-saturating loss.
    pub const DEFAULT: Self = StepConfig {
        batch: 64,
        d_steps: 1,
        g_loss: GeneratorLoss::NonSaturating,
    };
}

impl Default for StepConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What one step measured, averaged over its samples, in f32 whatever the networks
/// compute in.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct StepStats {
    /// Discriminator loss `-ln D(x) - ln(1 - D(G(z)))`, batch means, before its last update.
    pub d_loss: f32,
    /// Generator loss under the configured objective, before its update.
    pub g_loss: f32,
    /// Mean `D(x)` on real samples, before the Discriminator's updates.
    pub d_real: f32,
    /// Mean `D(G(z))` on generated samples, before the Discriminator's updates.
    pub d_fake: f32,
    /// Results of fixed-point arithmetic that were out of range and held at the nearest
    /// bound instead, during the step (noise and data drawn through its callbacks
    /// included); always 0 in f32.
    pub saturations: u32,
}

impl StepStats {
    /// True when every figure is finite: a NaN or infinity means training diverged.
    pub fn is_finite(&self) -> bool {
        [self.d_loss, self.g_loss, self.d_real, self.d_fake]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// Why a step could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainError {
    /// The minibatch size or the number of Discriminator updates is zero.
    EmptyBatch,
}

impl core::fmt::Display for TrainError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TrainError::EmptyBatch => {
                f.write_str("batch size and discriminator steps must be at least 1")
            }
        }
    }
}

impl core::error::Error for TrainError {}

/// Scratch the step needs besides the networks' own caches, one sample's worth.
struct Buffers<G: Layer, D: Layer> {
    /// Noise, `[Z]`.
    z: G::Input,
    /// A real sample, `[X]`.
    x: D::Input,
    /// A generated sample, `[X]`.
    fake: G::Output,
    /// Gradient of the loss with respect to the generated sample, `[X]`.
    dfake: G::Output,
    g_cache: G::Cache,
    d_cache: D::Cache,
}

/// A Generator, a Discriminator, their gradients and their optimizers: everything a GAN
/// needs to train, in one statically sized value.
pub struct Gan<G, D, OG, OD>
where
    G: Layer,
    D: Layer<Scalar = G::Scalar, Input = G::Output, Output = [G::Scalar; 1]>,
{
    /// The Generator, `[Z] → [X]`.
    pub g: G,
    /// The Discriminator, `[X] → [1]`, producing a logit: `D(x) = σ(d(x))`.
    pub d: D,
    /// Generator gradients, accumulated over a minibatch.
    pub dg: G,
    /// Discriminator gradients, accumulated over a minibatch.
    pub dd: D,
    /// The Generator's optimizer.
    pub g_opt: OG,
    /// The Discriminator's optimizer.
    pub d_opt: OD,
    buf: Buffers<G, D>,
}

impl<S, G, D, OG, OD> Gan<G, D, OG, OD>
where
    S: Scalar,
    G: Layer<Scalar = S>,
    D: Layer<Scalar = S, Input = G::Output, Output = [S; 1]>,
    OG: Optimizer<G>,
    OD: Optimizer<D>,
{
    /// Bundles two initialised networks with their optimizers.
    pub const fn new(g: G, d: D, g_opt: OG, d_opt: OD) -> Self {
        Gan {
            g,
            d,
            dg: G::ZEROED,
            dd: D::ZEROED,
            g_opt,
            d_opt,
            buf: Buffers {
                z: G::Input::ZERO,
                x: D::Input::ZERO,
                fake: G::Output::ZERO,
                dfake: G::Output::ZERO,
                g_cache: G::CACHE,
                d_cache: D::CACHE,
            },
        }
    }

    /// One adversarial step (Goodfellow et al. 2014, algorithm 1): `d_steps` Discriminator
    /// updates, each on `batch` real and `batch` generated samples, then one Generator
    /// update on `batch` fresh generated samples.
    ///
    /// `real` fills one real sample per call and `noise` one noise vector per call. They
    /// are called in this order, which fixes what a seeded run computes: for each
    /// Discriminator update, `batch` times `real` then `noise`; then `batch` times
    /// `noise` for the Generator update.
    pub fn step(
        &mut self,
        cfg: &StepConfig,
        mut real: impl FnMut(&mut D::Input),
        mut noise: impl FnMut(&mut G::Input),
    ) -> Result<StepStats, TrainError> {
        if cfg.batch == 0 || cfg.d_steps == 0 {
            return Err(TrainError::EmptyBatch);
        }
        // counts from before the step (sampling, say) are not the step's
        S::take_saturations();
        let mut stats = StepStats::default();
        for k in 0..cfg.d_steps {
            let [d_loss, d_real, d_fake] = self.d_update(cfg.batch, &mut real, &mut noise);
            if k == 0 {
                stats.d_real = d_real.to_f32();
                stats.d_fake = d_fake.to_f32();
            }
            stats.d_loss = d_loss.to_f32();
        }
        stats.g_loss = self.g_update(cfg.batch, cfg.g_loss, &mut noise).to_f32();
        stats.saturations = S::take_saturations();
        Ok(stats)
    }

    /// `1 / batch`: exact for powers of two, rounded once otherwise.
    fn inverse(batch: u32) -> S {
        S::ratio(1, i32::try_from(batch).unwrap_or(i32::MAX))
    }

    /// One Discriminator update; returns its loss and mean outputs on real and generated
    /// samples.
    fn d_update(
        &mut self,
        batch: u32,
        real: &mut impl FnMut(&mut D::Input),
        noise: &mut impl FnMut(&mut G::Input),
    ) -> [S; 3] {
        let b = &mut self.buf;
        let (inv_b, weight) = (Self::inverse(batch), S::batch_weight(batch));
        let [mut d_loss, mut d_real, mut d_fake] = [S::ZERO; 3];
        let mut logit = [S::ZERO];
        self.dd.zero();
        for _ in 0..batch {
            // real sample: loss -ln σ(l)
            real(&mut b.x);
            self.d.forward(&b.x, &mut logit, &mut b.d_cache);
            let (loss, dl) = loss::d_real(logit[0]);
            d_loss += loss * inv_b;
            d_real += logit[0].sigmoid() * inv_b;
            self.d.backward(
                &b.x,
                &logit,
                &mut b.d_cache,
                &[dl * weight],
                None,
                Some(&mut self.dd),
            );

            // generated sample: loss -ln(1 - σ(l)); no gradient flows into G here
            noise(&mut b.z);
            self.g.forward(&b.z, &mut b.fake, &mut b.g_cache);
            self.d.forward(&b.fake, &mut logit, &mut b.d_cache);
            let (loss, dl) = loss::d_fake(logit[0]);
            d_loss += loss * inv_b;
            d_fake += logit[0].sigmoid() * inv_b;
            self.d.backward(
                &b.fake,
                &logit,
                &mut b.d_cache,
                &[dl * weight],
                None,
                Some(&mut self.dd),
            );
        }
        self.d_opt.step(&mut self.d, &self.dd);
        [d_loss, d_real, d_fake]
    }

    /// One Generator update through the (fixed) Discriminator; returns its loss.
    fn g_update(
        &mut self,
        batch: u32,
        objective: GeneratorLoss,
        noise: &mut impl FnMut(&mut G::Input),
    ) -> S {
        let b = &mut self.buf;
        let (inv_b, weight) = (Self::inverse(batch), S::batch_weight(batch));
        let mut total = S::ZERO;
        let mut logit = [S::ZERO];
        self.dg.zero();
        for _ in 0..batch {
            noise(&mut b.z);
            self.g.forward(&b.z, &mut b.fake, &mut b.g_cache);
            self.d.forward(&b.fake, &mut logit, &mut b.d_cache);
            let (loss, dl) = objective.eval(logit[0]);
            total += loss * inv_b;

            // back through D to its input only (D's own gradients are not wanted), then
            // through G into its parameter gradients
            self.d.backward(
                &b.fake,
                &logit,
                &mut b.d_cache,
                &[dl * weight],
                Some(&mut b.dfake),
                None,
            );
            self.g.backward(
                &b.z,
                &b.fake,
                &mut b.g_cache,
                &b.dfake,
                None,
                Some(&mut self.dg),
            );
        }
        self.g_opt.step(&mut self.g, &self.dg);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{SmallDiscriminator, SmallGenerator};
    use crate::optim::{Adam, AdamConfig, Sgd, SgdConfig};
    use crate::{Init, Linear};
    use rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro128PlusPlus;

    type Small = Gan<
        SmallGenerator<64>,
        SmallDiscriminator<64>,
        Adam<SmallGenerator<64>>,
        Adam<SmallDiscriminator<64>>,
    >;

    /// Everything training needs, built at compile time: it can live in a `static`.
    static ZEROED: Small = Gan::new(
        SmallGenerator::<64>::ZEROED,
        SmallDiscriminator::<64>::ZEROED,
        Adam::new(AdamConfig::GAN),
        Adam::new(AdamConfig::GAN),
    );

    #[test]
    fn memory_is_four_copies_of_the_parameters_plus_one_sample_of_scratch() {
        // parameters, gradients, Adam m and v per network; one noise vector, real and
        // generated sample and its gradient, and the hidden activations with their
        // gradients (64 + 64 wide in each network's cache, twice for G's Tanh stage).
        let params = SmallGenerator::<64>::PARAMS + SmallDiscriminator::<64>::PARAMS;
        let scratch = 16 + 3 * 64 + 2 * (64 + 64 + 64) + 2 * (64 + 64);
        let words = 4 * params + scratch;
        let bytes = core::mem::size_of_val(&ZEROED);
        assert!(
            bytes >= 4 * words && bytes <= 4 * words + 64,
            "{bytes} B for {words} words"
        );
    }

    #[test]
    fn empty_batches_are_refused() {
        let mut gan = Gan::new(
            Linear::<1, 1>::ZEROED,
            Linear::<1, 1>::ZEROED,
            Sgd::new(SgdConfig::DEFAULT),
            Sgd::new(SgdConfig::DEFAULT),
        );
        for cfg in [
            StepConfig {
                batch: 0,
                ..StepConfig::DEFAULT
            },
            StepConfig {
                d_steps: 0,
                ..StepConfig::DEFAULT
            },
        ] {
            assert_eq!(gan.step(&cfg, |_| {}, |_| {}), Err(TrainError::EmptyBatch));
        }
    }

    #[test]
    fn seeded_runs_repeat_bit_for_bit() {
        let run = || {
            let mut rng = Xoshiro128PlusPlus::seed_from_u64(9);
            let mut gan = Gan::new(
                SmallGenerator::<64>::ZEROED,
                SmallDiscriminator::<64>::ZEROED,
                Adam::new(AdamConfig::GAN),
                Adam::new(AdamConfig::GAN),
            );
            gan.g.init(Init::PyTorchDefault, &mut rng);
            gan.d.init(Init::PyTorchDefault, &mut rng);
            let cfg = StepConfig {
                batch: 4,
                d_steps: 2,
                ..StepConfig::DEFAULT
            };
            let mut data_rng = Xoshiro128PlusPlus::seed_from_u64(10);
            for _ in 0..3 {
                let real = |x: &mut [f32; 64]| crate::noise::uniform(&mut data_rng, x);
                gan.step(&cfg, real, |z| crate::noise::gaussian(&mut rng, z))
                    .unwrap();
            }
            gan.g
        };
        let (a, b) = (run(), run());
        assert!(a.is_finite());
        assert_eq!(a.0.w.as_flattened(), b.0.w.as_flattened());
        assert_ne!(
            a.0.w.as_flattened(),
            SmallGenerator::<64>::ZEROED.0.w.as_flattened()
        );
    }
}
