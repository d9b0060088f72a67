//! Ready-made network pairs.
//!
//! Discriminators here end in a logit: the Sigmoid of a PyTorch model built the same way
//! is fused into the loss (see [`loss`](crate::loss)). Layer indices, and so tensor names,
//! match an `nn.Sequential` with the Sigmoid as its last child.

use crate::{seq, LeakyRelu, Linear, Relu, Tanh};

/// Noise width of the seed Generator.
pub const SEED_Z: usize = 100;
/// Generator of the seed model: 100 → 128 (ReLU) → 784 (Tanh), for 28×28 images in [-1, 1].
pub type SeedGenerator = SeedGeneratorOf<f32>;
/// [`SeedGenerator`] computing in `S`.
pub type SeedGeneratorOf<S> = SeedShapedGeneratorOf<784, S>;
/// Discriminator of the seed model: 784 → 128 (ReLU) → 1 (Sigmoid, fused into the loss).
pub type SeedDiscriminator = SeedDiscriminatorOf<f32>;
/// [`SeedDiscriminator`] computing in `S`.
pub type SeedDiscriminatorOf<S> = SeedShapedDiscriminatorOf<784, S>;
/// The seed Generator's shape for `X`-pixel images: 100 → 128 (ReLU) → X (Tanh).
pub type SeedShapedGenerator<const X: usize> = SeedShapedGeneratorOf<X, f32>;
/// [`SeedShapedGenerator`] computing in `S`.
pub type SeedShapedGeneratorOf<const X: usize, S> =
    seq![Linear<SEED_Z, 128, S>, Relu<128, S>, Linear<128, X, S>, Tanh<X, S>];
/// The seed Discriminator's shape for `X`-pixel images: X → 128 (ReLU) → 1.
pub type SeedShapedDiscriminator<const X: usize> = SeedShapedDiscriminatorOf<X, f32>;
/// [`SeedShapedDiscriminator`] computing in `S`.
pub type SeedShapedDiscriminatorOf<const X: usize, S> =
    seq![Linear<X, 128, S>, Relu<128, S>, Linear<128, 1, S>];

/// Noise width of the small image Generator.
pub const SMALL_Z: usize = 16;
/// Small Generator for `X`-pixel images in [-1, 1]: 16 → 64 (ReLU) → X (Tanh).
/// 5,248 parameters for 8×8 images.
pub type SmallGenerator<const X: usize> = SmallGeneratorOf<X, f32>;
/// [`SmallGenerator`] computing in `S`.
pub type SmallGeneratorOf<const X: usize, S> =
    seq![Linear<SMALL_Z, 64, S>, Relu<64, S>, Linear<64, X, S>, Tanh<X, S>];
/// Small Discriminator for `X`-pixel images: X → 64 (LeakyReLU 0.2) → 1.
/// 4,225 parameters for 8×8 images.
pub type SmallDiscriminator<const X: usize> = SmallDiscriminatorOf<X, f32>;
/// [`SmallDiscriminator`] computing in `S`.
pub type SmallDiscriminatorOf<const X: usize, S> =
    seq![Linear<X, 64, S>, LeakyRelu<64, 200, S>, Linear<64, 1, S>];

/// Noise width of the 2-D point Generator. Two suffices for a 2-D target, and a noise as
/// wide as the data makes mode collapse on ring-shaped mixtures rarer.
pub const POINTS_Z: usize = 2;
/// Generator for 2-D points with two hidden layers of `W`, computing in `S`:
/// 2 → W (ReLU) → W (ReLU) → 2, unbounded output. `W² + 6W + 2` parameters.
pub type PointsGeneratorW<const W: usize, S = f32> =
    seq![Linear<POINTS_Z, W, S>, Relu<W, S>, Linear<W, W, S>, Relu<W, S>, Linear<W, 2, S>];
/// Discriminator for 2-D points with two hidden layers of `W`, computing in `S`:
/// 2 → W (LeakyReLU 0.2) → W (LeakyReLU 0.2) → 1. `W² + 5W + 1` parameters.
pub type PointsDiscriminatorW<const W: usize, S = f32> = seq![
    Linear<2, W, S>,
    LeakyRelu<W, 200, S>,
    Linear<W, W, S>,
    LeakyRelu<W, 200, S>,
    Linear<W, 1, S>
];

/// Width of the hidden layers of the 2-D point pair trained on the desktop.
pub const POINTS_WIDTH: usize = 64;
/// Generator for 2-D points: 2 → 64 (ReLU) → 64 (ReLU) → 2, unbounded output.
/// 4,482 parameters.
pub type PointsGenerator = PointsGeneratorW<POINTS_WIDTH>;
/// Discriminator for 2-D points: 2 → 64 (LeakyReLU 0.2) → 64 (LeakyReLU 0.2) → 1.
/// 4,417 parameters.
pub type PointsDiscriminator = PointsDiscriminatorW<POINTS_WIDTH>;

/// Width of the hidden layers of the tiny 2-D point pair.
pub const TINY_WIDTH: usize = 24;
/// Generator for 2-D points sized for training on a microcontroller with 64 KiB of RAM or
/// more: 2 → 24 (ReLU) → 24 (ReLU) → 2, unbounded output. 722 parameters.
pub type TinyPointsGenerator = PointsGeneratorW<TINY_WIDTH>;
/// Discriminator for 2-D points sized for training on a microcontroller with 64 KiB of RAM
/// or more: 2 → 24 (LeakyReLU 0.2) → 24 (LeakyReLU 0.2) → 1. 697 parameters.
pub type TinyPointsDiscriminator = PointsDiscriminatorW<TINY_WIDTH>;

/// Width of the hidden layers of the micro 2-D point pair, sized for 16 KiB of RAM: its
/// training state with Adam takes 12,160 B, leaving room for the stack; 18 wide takes
/// 14,816 B, too much, and 17 wide lost every mode on seed 1. With
/// [`RING8_DEVICE`](crate::recipe::RING8_DEVICE) it captured at least 7 of ring8's 8 modes
/// on 9 of the seeds 1 to 10 (all 8 on seed 1, 6 on seed 8).
pub const MICRO_WIDTH: usize = 16;
/// Generator for 2-D points sized for training on a microcontroller with 16 KiB of RAM:
/// 2 → 16 (ReLU) → 16 (ReLU) → 2, unbounded output. 354 parameters.
pub type MicroPointsGenerator = PointsGeneratorW<MICRO_WIDTH>;
/// Discriminator for 2-D points sized for training on a microcontroller with 16 KiB of
/// RAM: 2 → 16 (LeakyReLU 0.2) → 16 (LeakyReLU 0.2) → 1. 337 parameters.
pub type MicroPointsDiscriminator = PointsDiscriminatorW<MICRO_WIDTH>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Layer;

    #[test]
    fn parameter_counts() {
        // Seed pair: 100·128 + 128 + 128·784 + 784 and 784·128 + 128 + 128 + 1.
        assert_eq!(SeedGenerator::PARAMS, 114_064);
        assert_eq!(SeedDiscriminator::PARAMS, 100_609);
        assert_eq!(SmallGenerator::<64>::PARAMS, 5_248);
        assert_eq!(SmallDiscriminator::<64>::PARAMS, 4_225);
        assert_eq!(PointsGenerator::PARAMS, 4_482);
        assert_eq!(PointsDiscriminator::PARAMS, 4_417);
        assert_eq!(TinyPointsGenerator::PARAMS, 722);
        assert_eq!(TinyPointsDiscriminator::PARAMS, 697);
        assert_eq!(MicroPointsGenerator::PARAMS, 354);
        assert_eq!(MicroPointsDiscriminator::PARAMS, 337);
    }

    #[test]
    fn tensor_names_follow_nn_sequential() {
        let names: [(usize, &str); 4] = core::array::from_fn(|i| {
            let t = SeedGenerator::tensor_info(i).unwrap();
            (t.layer, t.kind.name())
        });
        assert_eq!(
            names,
            [(0, "weight"), (0, "bias"), (2, "weight"), (2, "bias")]
        );
        assert_eq!(SeedGenerator::tensor_info(2).unwrap().shape(), &[784, 128]);
        assert_eq!(SeedGenerator::tensor_info(4), None);
    }
}
