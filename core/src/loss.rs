//! Losses, each returning its value and its gradient with respect to the logits.
//!
//! The Discriminator outputs a logit `l`; `D(x) = σ(l)`. Its Sigmoid is fused with the
//! binary cross-entropy, written with softplus, `sp(t) = ln(1 + e^t)`:
//!
//! - `-ln σ(l)     = sp(-l)`
//! - `-ln(1 - σ(l)) = sp(l)`
//!
//! `sp` is evaluated as `max(t, 0) + ln(1 + e^-|t|)`, which is finite for every finite `t`,
//! so no finite logit, however large, gives an infinite or NaN loss or gradient.
//!
//! The losses of the training step are generic over the [`Scalar`] they compute in; the
//! f32 functions [`sigmoid`] and [`softplus`] are f32's implementations.

use crate::Scalar;

/// The logistic function `σ(x) = 1 / (1 + e^-x)`, in `[0, 1]` for every `x`.
///
/// For `x` below about -88, `e^-x` overflows to infinity and the result is exactly 0,
/// which is also the correctly rounded value; PyTorch's `torch.sigmoid` evaluates the same
/// expression.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-x))
}

/// Softplus `ln(1 + e^t)`, finite for every finite `t`; within 2 ulp of the exact value
/// (one rounding in `log1pf`, one in the final addition).
pub fn softplus(t: f32) -> f32 {
    let m = if t > 0.0 { t } else { 0.0 };
    m + libm::log1pf(libm::expf(-t.abs()))
}

/// The Discriminator's loss on a real sample: `-ln D(x) = sp(-l)`, and `d/dl = σ(l) - 1`.
pub fn d_real<S: Scalar>(logit: S) -> (S, S) {
    ((-logit).softplus(), logit.sigmoid() - S::ONE)
}

/// The Discriminator's loss on a generated sample: `-ln(1 - D(G(z))) = sp(l)`, and
/// `d/dl = σ(l)`.
pub fn d_fake<S: Scalar>(logit: S) -> (S, S) {
    (logit.softplus(), logit.sigmoid())
}

/// Which objective the Generator minimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum GeneratorLoss {
    /// `ln(1 - D(G(z)))`, the original minimax game (Goodfellow et al. 2014, eq. 1). Its
    /// gradient vanishes where the Discriminator rejects samples confidently, which is
    /// early in training.
    Minimax,
    /// `-ln D(G(z))`, the non-saturating alternative from the same paper (section 3):
    /// the same fixed point, strong gradients early on.
    #[default]
    NonSaturating,
}

impl GeneratorLoss {
    /// The loss and its derivative with respect to the Discriminator's logit on `G(z)`.
    pub fn eval<S: Scalar>(self, logit: S) -> (S, S) {
        match self {
            // ln(1 - σ(l)) = -sp(l);  d/dl = -σ(l)
            GeneratorLoss::Minimax => (-logit.softplus(), -logit.sigmoid()),
            // -ln σ(l) = sp(-l);  d/dl = σ(l) - 1
            GeneratorLoss::NonSaturating => d_real(logit),
        }
    }
}

/// Softmax cross-entropy of `logits` against class `label`: returns
/// `-ln softmax(logits)[label]` and writes its gradient, `softmax(logits) - onehot(label)`,
/// into `dlogits`. `None` when `label` is out of range.
///
/// The maximum logit is subtracted before exponentiating, so no finite logits overflow;
/// the log-sum is taken as `log1p` of the terms other than the maximum's (which is 1), so
/// a confident right answer keeps its small loss to full relative precision.
pub fn softmax_cross_entropy<const K: usize>(
    logits: &[f32; K],
    label: usize,
    dlogits: &mut [f32; K],
) -> Option<f32> {
    if label >= K {
        return None;
    }
    let top = (0..K).fold(0, |best, i| if logits[i] > logits[best] { i } else { best });
    let max = logits[top];
    let mut rest = 0.0f32;
    for (i, (d, &l)) in dlogits.iter_mut().zip(logits).enumerate() {
        *d = libm::expf(l - max);
        if i != top {
            rest += *d;
        }
    }
    let sum = 1.0 + rest;
    for d in dlogits.iter_mut() {
        *d /= sum;
    }
    dlogits[label] -= 1.0;
    Some(libm::log1pf(rest) - (logits[label] - max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_losses_stay_finite_for_extreme_logits() {
        for l in [f32::MAX, 1e30, 1e4, 88.8, -88.8, -1e4, -1e30, f32::MIN] {
            for (loss, grad) in [d_real::<f32>(l), d_fake(l)]
                .into_iter()
                .chain([GeneratorLoss::Minimax, GeneratorLoss::NonSaturating].map(|g| g.eval(l)))
            {
                assert!(
                    loss.is_finite() && grad.is_finite(),
                    "l = {l}: {loss}, {grad}"
                );
            }
        }
    }

    #[test]
    fn softplus_at_known_points() {
        // sp(0) = ln 2; sp(t) → t for large t; sp(-t) → e^-t for large t.
        let table = [
            (0.0f32, core::f32::consts::LN_2),
            (30.0, 30.0),
            (-30.0, 9.357_623e-14),
        ];
        for (t, want) in table {
            let got = softplus(t);
            assert!(
                (got - want).abs() <= 2.0 * f32::EPSILON * want,
                "sp({t}) = {got}"
            );
        }
    }

    #[test]
    fn d_loss_of_a_confident_correct_discriminator_is_small() {
        assert!(d_real(20.0).0 < 1e-8);
        assert!(d_fake(-20.0).0 < 1e-8);
        // and a confidently wrong one pays about |l|
        assert!((d_real(-20.0).0 - 20.0).abs() < 1e-6);
    }

    #[test]
    fn softmax_cross_entropy_of_uniform_logits_is_ln_k() {
        let mut d = [0.0; 4];
        let loss = softmax_cross_entropy(&[3.0; 4], 2, &mut d).unwrap();
        assert!((loss - libm::logf(4.0)).abs() < 1e-6);
        assert_eq!(d, [0.25, 0.25, -0.75, 0.25]);
        assert_eq!(softmax_cross_entropy(&[0.0; 4], 4, &mut d), None);
    }

    #[test]
    fn confident_right_answers_keep_relative_precision() {
        // -ln softmax = ln(1 + e^-10 + e^-12) for logits (10, 0, -2) and label 0;
        // reference computed in f64: 5.1542813762186056e-5.
        let mut d = [0.0; 3];
        let loss = softmax_cross_entropy(&[10.0, 0.0, -2.0], 0, &mut d).unwrap();
        let want = 5.154_281_4e-5f32;
        assert!(
            (loss - want).abs() <= 4.0 * f32::EPSILON * want,
            "{loss} vs {want}"
        );
    }
}
