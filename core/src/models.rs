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
/// Generator for 2-D points: 2 → 64 (ReLU) → 64 (ReLU) → 2, unbounded output.
/// 4,482 parameters.
pub type PointsGenerator = PointsGeneratorOf<f32>;
/// [`PointsGenerator`] computing in `S`.
pub type PointsGeneratorOf<S> =
    seq![Linear<POINTS_Z, 64, S>, Relu<64, S>, Linear<64, 64, S>, Relu<64, S>, Linear<64, 2, S>];
/// Discriminator for 2-D points: 2 → 64 (LeakyReLU 0.2) → 64 (LeakyReLU 0.2) → 1.
/// 4,417 parameters.
pub type PointsDiscriminator = PointsDiscriminatorOf<f32>;
/// [`PointsDiscriminator`] computing in `S`.
pub type PointsDiscriminatorOf<S> = seq![Linear<2, 64, S>, LeakyRelu<64, 200, S>, Linear<64, 64, S>, LeakyRelu<64, 200, S>, Linear<64, 1, S>];

/// Width of the hidden layers of the tiny 2-D point pair.
pub const TINY_WIDTH: usize = 24;
/// Generator for 2-D points sized for training on a microcontroller:
/// 2 → 24 (ReLU) → 24 (ReLU) → 2, unbounded output. 722 parameters.
pub type TinyPointsGenerator = TinyPointsGeneratorOf<f32>;
/// [`TinyPointsGenerator`] computing in `S`.
pub type TinyPointsGeneratorOf<S> = seq![
    Linear<POINTS_Z, TINY_WIDTH, S>,
    Relu<TINY_WIDTH, S>,
    Linear<TINY_WIDTH, TINY_WIDTH, S>,
    Relu<TINY_WIDTH, S>,
    Linear<TINY_WIDTH, 2, S>
];
/// Discriminator for 2-D points sized for training on a microcontroller:
/// 2 → 24 (LeakyReLU 0.2) → 24 (LeakyReLU 0.2) → 1. 697 parameters.
pub type TinyPointsDiscriminator = TinyPointsDiscriminatorOf<f32>;
/// [`TinyPointsDiscriminator`] computing in `S`.
pub type TinyPointsDiscriminatorOf<S> = seq![
    Linear<2, TINY_WIDTH, S>,
    LeakyRelu<TINY_WIDTH, 200, S>,
    Linear<TINY_WIDTH, TINY_WIDTH, S>,
    LeakyRelu<TINY_WIDTH, 200, S>,
    Linear<TINY_WIDTH, 1, S>
];

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
