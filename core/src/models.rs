//! Ready-made network pairs.
//!
//! Discriminators here end in a logit: the Sigmoid of a PyTorch model built the same way
//! is fused into the loss (see [`loss`](crate::loss)). Layer indices, and so tensor names,
//! match an `nn.Sequential` with the Sigmoid as its last child.

use crate::{seq, LeakyRelu, Linear, Relu, Tanh};

/// Noise width of the seed Generator.
pub const SEED_Z: usize = 100;
/// Generator of the seed model: 100 → 128 (ReLU) → 784 (Tanh), for 28×28 images in [-1, 1].
pub type SeedGenerator = SeedShapedGenerator<784>;
/// Discriminator of the seed model: 784 → 128 (ReLU) → 1 (Sigmoid, fused into the loss).
pub type SeedDiscriminator = SeedShapedDiscriminator<784>;
/// The seed Generator's shape for `X`-pixel images: 100 → 128 (ReLU) → X (Tanh).
pub type SeedShapedGenerator<const X: usize> =
    seq![Linear<SEED_Z, 128>, Relu<128>, Linear<128, X>, Tanh<X>];
/// The seed Discriminator's shape for `X`-pixel images: X → 128 (ReLU) → 1.
pub type SeedShapedDiscriminator<const X: usize> = seq![Linear<X, 128>, Relu<128>, Linear<128, 1>];

/// Noise width of the small image Generator.
pub const SMALL_Z: usize = 16;
/// Small Generator for `X`-pixel images in [-1, 1]: 16 → 64 (ReLU) → X (Tanh).
/// 5,248 parameters for 8×8 images.
pub type SmallGenerator<const X: usize> =
    seq![Linear<SMALL_Z, 64>, Relu<64>, Linear<64, X>, Tanh<X>];
/// Small Discriminator for `X`-pixel images: X → 64 (LeakyReLU 0.2) → 1.
/// 4,225 parameters for 8×8 images.
pub type SmallDiscriminator<const X: usize> =
    seq![Linear<X, 64>, LeakyRelu<64, 200>, Linear<64, 1>];

/// Noise width of the 2-D point Generator. Two suffices for a 2-D target, and a noise as
/// wide as the data makes mode collapse on ring-shaped mixtures rarer.
pub const POINTS_Z: usize = 2;
/// Generator for 2-D points with two hidden layers of `W`: 2 → W (ReLU) → W (ReLU) → 2,
/// unbounded output. `W² + 6W + 2` parameters.
pub type PointsGeneratorW<const W: usize> =
    seq![Linear<POINTS_Z, W>, Relu<W>, Linear<W, W>, Relu<W>, Linear<W, 2>];
/// Discriminator for 2-D points with two hidden layers of `W`:
/// 2 → W (LeakyReLU 0.2) → W (LeakyReLU 0.2) → 1. `W² + 5W + 1` parameters.
pub type PointsDiscriminatorW<const W: usize> =
    seq![Linear<2, W>, LeakyRelu<W, 200>, Linear<W, W>, LeakyRelu<W, 200>, Linear<W, 1>];

/// Generator for 2-D points: 2 → 64 (ReLU) → 64 (ReLU) → 2, unbounded output.
/// 4,482 parameters.
pub type PointsGenerator = PointsGeneratorW<64>;
/// Discriminator for 2-D points: 2 → 64 (LeakyReLU 0.2) → 64 (LeakyReLU 0.2) → 1.
/// 4,417 parameters.
pub type PointsDiscriminator = PointsDiscriminatorW<64>;

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
