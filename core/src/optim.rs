//! Optimizers with the update rules of PyTorch's `torch.optim.SGD` and `torch.optim.Adam`.
//!
//! Each keeps its state in values of the network's own type, so the state's size is known
//! at compile time: SGD with momentum one copy of the parameters, Adam two.

use crate::{Layer, Scalar};

/// Updates a network's parameters from its accumulated gradients.
pub trait Optimizer<L: Layer> {
    /// Applies one update to `params` from `grads`.
    fn step(&mut self, params: &mut L, grads: &L);
    /// The learning rate.
    fn lr(&self) -> f32;
    /// Changes the learning rate, keeping the rest of the state.
    fn set_lr(&mut self, lr: f32);
}

/// Settings of [`Sgd`], named as in `torch.optim.SGD`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor μ; 0 disables the momentum buffer.
    pub momentum: f32,
    /// Dampening τ of the momentum.
    pub dampening: f32,
    /// L2 penalty λ added to the gradient.
    pub weight_decay: f32,
    /// Nesterov momentum (Sutskever et al. 2013).
    pub nesterov: bool,
}

impl SgdConfig {
    /// lr 0.01, momentum 0.9, no dampening, no weight decay, plain momentum.
    pub const DEFAULT: Self = SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        dampening: 0.0,
        weight_decay: 0.0,
        nesterov: false,
    };
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Stochastic gradient descent with momentum, as `torch.optim.SGD`:
///
/// ```text
/// g ← g + λθ
/// b ← g                       on the first step
/// b ← μb + (1 - τ)g           after it
/// g ← g + μb  (Nesterov)  or  g ← b
/// θ ← θ - lr·g
/// ```
pub struct Sgd<L> {
    /// Settings.
    pub config: SgdConfig,
    /// Momentum buffer `b`, `[same shapes as the parameters]`.
    pub momentum: L,
    started: bool,
}

impl<L: Layer> Sgd<L> {
    /// A fresh optimizer with an empty momentum buffer.
    pub const fn new(config: SgdConfig) -> Self {
        Sgd {
            config,
            momentum: L::ZEROED,
            started: false,
        }
    }
}

impl<L: Layer> Optimizer<L> for Sgd<L> {
    fn step(&mut self, params: &mut L, grads: &L) {
        let c = self.config;
        let s = |x: f32| L::Scalar::from_f32(x);
        let (lr, momentum, weight_decay) = (s(c.lr), s(c.momentum), s(c.weight_decay));
        let undamped = s(1.0 - c.dampening);
        for t in 0..L::TENSORS {
            let p = params.tensor_mut(t);
            let g = grads.tensor(t);
            let b = self.momentum.tensor_mut(t);
            for ((p, &g), b) in p.iter_mut().zip(g).zip(b) {
                let mut d = g;
                if c.weight_decay != 0.0 {
                    d += weight_decay * *p;
                }
                if c.momentum != 0.0 {
                    *b = if self.started {
                        momentum * *b + undamped * d
                    } else {
                        d
                    };
                    d = if c.nesterov { d + momentum * *b } else { *b };
                }
                *p -= lr * d;
            }
        }
        self.started = true;
    }

    fn lr(&self) -> f32 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}

/// Settings of [`Adam`], named as in `torch.optim.Adam`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first-moment estimate, β₁.
    pub beta1: f32,
    /// Decay of the second-moment estimate, β₂.
    pub beta2: f32,
    /// Added to the bias-corrected `√v̂` in the denominator, ε.
    pub eps: f32,
    /// L2 penalty λ added to the gradient (not decoupled: that is AdamW).
    pub weight_decay: f32,
}

impl AdamConfig {
    /// PyTorch's defaults: lr 1e-3, β = (0.9, 0.999), ε = 1e-8.
    pub const DEFAULT: Self = AdamConfig {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    /// The usual GAN settings (Radford et al. 2015, DCGAN, section 4): lr 2e-4, β₁ = 0.5.
    pub const GAN: Self = AdamConfig {
        lr: 2e-4,
        beta1: 0.5,
        ..Self::DEFAULT
    };
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Adam (Kingma & Ba 2015), as `torch.optim.Adam` computes it, step `t` counting from 1:
///
/// ```text
/// g ← g + λθ
/// m ← lerp(m, g, 1 - β₁)            (= β₁m + (1 - β₁)g)
/// v ← β₂v + (1 - β₂)g²
/// θ ← θ - (lr / (1 - β₁ᵗ)) · m / (√v / √(1 - β₂ᵗ) + ε)
/// ```
///
/// Like PyTorch, the bias corrections are computed in double precision and ε is added
/// after dividing `√v` by its correction.
pub struct Adam<L> {
    /// Settings.
    pub config: AdamConfig,
    /// First-moment estimate `m`, `[same shapes as the parameters]`.
    pub m: L,
    /// Second-moment estimate `v`, `[same shapes as the parameters]`.
    pub v: L,
    /// Number of steps taken.
    pub t: u32,
}

impl<L: Layer> Adam<L> {
    /// A fresh optimizer with zero moments.
    pub const fn new(config: AdamConfig) -> Self {
        Adam {
            config,
            m: L::ZEROED,
            v: L::ZEROED,
            t: 0,
        }
    }
}

/// `a + w·(b - a)`, evaluated as PyTorch's `lerp` kernel does: from `b`'s side when
/// `w ≥ 0.5`, which keeps the result exact at `w = 1`.
#[derive(Clone, Copy)]
struct Lerp<S> {
    /// `w`.
    w: S,
    /// `1 - w`, rounded once from f32.
    one_minus_w: S,
    /// Whether to evaluate from `b`'s side.
    from_b: bool,
}

impl<S: Scalar> Lerp<S> {
    fn new(w: f32) -> Self {
        Lerp {
            w: S::from_f32(w),
            one_minus_w: S::from_f32(1.0 - w),
            from_b: w.abs() >= 0.5 || w.is_nan(),
        }
    }

    #[inline]
    fn at(self, a: S, b: S) -> S {
        if self.from_b {
            b - (b - a) * self.one_minus_w
        } else {
            a + self.w * (b - a)
        }
    }
}

impl<L: Layer> Optimizer<L> for Adam<L> {
    /// One update. The constants are computed in f32 and f64 as above and rounded once to
    /// the network's scalar; for fixed point, `v` holds `√v` (see
    /// [`Scalar::adam_second_moment`]).
    fn step(&mut self, params: &mut L, grads: &L) {
        let c = self.config;
        self.t = self.t.saturating_add(1);
        let t = f64::from(self.t);
        let step_size = (f64::from(c.lr) / (1.0 - libm::pow(f64::from(c.beta1), t))) as f32;
        let bc2_sqrt = libm::sqrt(1.0 - libm::pow(f64::from(c.beta2), t)) as f32;

        let s = |x: f32| L::Scalar::from_f32(x);
        let (neg_step, bc2_sqrt, weight_decay) = (s(-step_size), s(bc2_sqrt), s(c.weight_decay));
        let (beta2, one_minus_beta2) = (s(c.beta2), s(1.0 - c.beta2));
        let eps = L::Scalar::adam_eps(c.eps);
        let lerp = Lerp::new(1.0 - c.beta1);
        for i in 0..L::TENSORS {
            let p = params.tensor_mut(i);
            let g = grads.tensor(i);
            let m = self.m.tensor_mut(i);
            let v = self.v.tensor_mut(i);
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                let g = if c.weight_decay != 0.0 {
                    g + weight_decay * *p
                } else {
                    g
                };
                *m = lerp.at(*m, g);
                *v = L::Scalar::adam_second_moment(*v, g, beta2, one_minus_beta2);
                let denom = L::Scalar::adam_rms(*v) / bc2_sqrt + eps;
                *p += neg_step * (*m / denom);
            }
        }
    }

    fn lr(&self) -> f32 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}

/// How learning rates change over a run of `steps` steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Schedule {
    /// The configured rates throughout.
    Constant,
    /// The configured rates for the first half, then falling linearly to zero at the last
    /// step (the schedule of Zhu et al. 2017, CycleGAN, section 4): late small steps let
    /// the Generator settle onto the modes it has found.
    #[default]
    HalfLinear,
}

impl Schedule {
    /// The factor on the learning rates for 1-based `step` of `steps`: for
    /// [`Schedule::HalfLinear`], 1 up to step `steps / 2`, then
    /// `(steps - step + 1) / (steps - steps / 2)`, which is `1 / (steps - steps / 2)` at the
    /// last step and 0 past it.
    pub fn factor(self, step: u32, steps: u32) -> f32 {
        match self {
            Schedule::Constant => 1.0,
            Schedule::HalfLinear => {
                // u64: `steps + 1` must not overflow for u32::MAX steps
                let (step, steps) = (u64::from(step), u64::from(steps));
                let half = steps / 2;
                if step <= half {
                    1.0
                } else {
                    // the divisor is 0 only for steps = 0, where every step is past the end
                    (steps + 1).saturating_sub(step) as f32 / (steps - half).max(1) as f32
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Linear;

    #[test]
    fn first_adam_step_moves_each_weight_by_lr() {
        // At t = 1 the bias corrections cancel: m̂ = g, √v̂ = |g|, so the step is
        // lr·g/(|g| + ε) ≈ lr·sign(g) for |g| ≫ ε.
        let mut p = Linear::<2, 1> {
            w: [[1.0, 1.0]],
            b: [0.0],
        };
        let g = Linear::<2, 1> {
            w: [[0.5, -3.0]],
            b: [0.0],
        };
        let mut adam = Adam::new(AdamConfig {
            lr: 0.1,
            ..AdamConfig::DEFAULT
        });
        adam.step(&mut p, &g);
        assert!(
            (p.w[0][0] - 0.9).abs() < 1e-6 && (p.w[0][1] - 1.1).abs() < 1e-6,
            "{p:?}"
        );
        assert_eq!(p.b, [0.0]);
    }

    #[test]
    fn sgd_momentum_accumulates() {
        // b₁ = g, b₂ = μb₁ + g = 1.5g: θ = 1 - 0.1·1 - 0.1·1.5 = 0.75 for g = 1
        let mut p = Linear::<1, 1> {
            w: [[1.0]],
            b: [0.0],
        };
        let g = Linear::<1, 1> {
            w: [[1.0]],
            b: [0.0],
        };
        let mut sgd = Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.5,
            ..SgdConfig::DEFAULT
        });
        sgd.step(&mut p, &g);
        sgd.step(&mut p, &g);
        assert!((p.w[0][0] - 0.75).abs() < 1e-7);
    }

    #[test]
    fn half_linear_schedule() {
        let s = Schedule::HalfLinear;
        let got = [1, 5, 6, 7, 10, 11].map(|step| s.factor(step, 10));
        assert_eq!(got, [1.0, 1.0, 1.0, 0.8, 0.2, 0.0]);
        assert_eq!(Schedule::Constant.factor(10, 10), 1.0);
        // an odd count decays over the longer half
        assert_eq!(s.factor(4, 7), 4.0 / 4.0);
        assert_eq!(s.factor(7, 7), 1.0 / 4.0);
        // degenerate counts stay finite and in [0, 1]
        assert_eq!(s.factor(1, 0), 0.0);
        assert_eq!(s.factor(0, 0), 1.0);
        let last = s.factor(u32::MAX, u32::MAX);
        assert!(last > 0.0 && last < 1e-9, "{last}");
    }

    fn lerp(a: f32, b: f32, w: f32) -> f32 {
        Lerp::new(w).at(a, b)
    }

    #[test]
    fn sqrt_is_libms_bit_for_bit() {
        use crate::scalar::sqrt;
        // Both are correctly rounded, whichever implementation `sqrt` uses; check across
        // exponents and mantissas (every 997th bit pattern of the non-negative floats).
        for bits in (0..0x7f80_0000u32)
            .step_by(997)
            .chain([0x7f80_0000, 1, 0x0080_0000])
        {
            let x = f32::from_bits(bits);
            assert_eq!(sqrt(x).to_bits(), libm::sqrtf(x).to_bits(), "√{x:e}");
        }
    }

    #[test]
    fn lerp_is_exact_at_its_ends() {
        assert_eq!(lerp(3.0, 7.0, 0.0), 3.0);
        assert_eq!(lerp(3.0, 7.0, 1.0), 7.0);
        assert_eq!(lerp(3.0, 7.0, 0.5), 5.0);
    }
}
