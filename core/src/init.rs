//! Parameter initialisation schemes.

use crate::Scalar;
use rand_core::Rng;

/// How [`Layer::init`](crate::Layer::init) draws a fully connected layer's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Init {
    /// PyTorch's default for `nn.Linear` (`reset_parameters`): weights from Kaiming-uniform
    /// with `a = √5`, which works out to `U(-1/√IN, 1/√IN)`, and biases from the same range.
    #[default]
    PyTorchDefault,
    /// Xavier/Glorot uniform (Glorot & Bengio 2010, eq. 16): weights from
    /// `U(-√(6/(IN+OUT)), √(6/(IN+OUT)))`, biases zero.
    XavierUniform,
}

impl Init {
    /// Half-widths of the uniform ranges for the weights and the biases of an
    /// `IN → OUT` layer.
    pub(crate) fn bounds(self, fan_in: usize, fan_out: usize) -> (f32, f32) {
        match self {
            Init::PyTorchDefault => {
                // gain = √(2 / (1 + a²)) = √(1/3); bound = gain·√(3 / fan_in) = 1/√fan_in
                let b = 1.0 / libm::sqrtf(fan_in.max(1) as f32);
                (b, b)
            }
            Init::XavierUniform => (libm::sqrtf(6.0 / (fan_in + fan_out).max(1) as f32), 0.0),
        }
    }
}

/// A uniform draw from `[0, 1)` with 24 random bits, the full precision of an f32 there.
pub(crate) fn unit<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    const TWO_POW_MINUS_24: f32 = 1.0 / 16_777_216.0;
    (rng.next_u32() >> 8) as f32 * TWO_POW_MINUS_24
}

/// Fills `out` from `U(-bound, bound)`, drawn in f32 and rounded to `S`, so that a
/// fixed-point network starts from its f32 twin's parameters, rounded.
pub(crate) fn fill_uniform<S: Scalar, R: Rng + ?Sized>(rng: &mut R, out: &mut [S], bound: f32) {
    for v in out {
        *v = S::from_f32(bound * (2.0 * unit(rng) - 1.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Layer, Linear};
    use rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro128PlusPlus;

    #[test]
    fn pytorch_default_bound_is_one_over_sqrt_fan_in() {
        assert_eq!(Init::PyTorchDefault.bounds(16, 3), (0.25, 0.25));
        assert_eq!(Init::XavierUniform.bounds(2, 4), (1.0, 0.0));
    }

    #[test]
    fn draws_fill_the_range_and_are_seeded() {
        let mut a = Linear::<64, 64>::ZEROED;
        let mut b = Linear::<64, 64>::ZEROED;
        a.init(
            Init::PyTorchDefault,
            &mut Xoshiro128PlusPlus::seed_from_u64(3),
        );
        b.init(
            Init::PyTorchDefault,
            &mut Xoshiro128PlusPlus::seed_from_u64(3),
        );
        assert_eq!(a, b);
        let w = a.w.as_flattened();
        let (lo, hi) = w
            .iter()
            .fold((1.0f32, -1.0f32), |(l, h), &v| (l.min(v), h.max(v)));
        // 4096 uniform draws: the extremes land within 1% of the bound with
        // probability 1 - 2·0.99^4096, indistinguishable from 1.
        assert!(
            (-0.125..-0.12).contains(&lo) && hi <= 0.125 && hi > 0.12,
            "{lo} {hi}"
        );
    }

    #[test]
    fn xavier_zeroes_biases() {
        let mut l = Linear::<4, 4>::ZEROED;
        l.b = [1.0; 4];
        l.init(
            Init::XavierUniform,
            &mut Xoshiro128PlusPlus::seed_from_u64(1),
        );
        assert_eq!(l.b, [0.0; 4]);
    }
}
