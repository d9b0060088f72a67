//! Cross-checks live in `tests/`; this library only holds what they share.

use picogan::optim::Optimizer;
use picogan::Layer;

/// An optimizer that leaves the weights alone, so that after `Gan::step` the gradient
/// buffers `dd` and `dg` hold the gradients at exactly the weights the step started from.
/// SGD with lr 0 would do the same through arithmetic; this does it by construction.
pub struct Frozen;

impl<L: Layer<Scalar = f32>> Optimizer<L> for Frozen {
    fn step(&mut self, _: &mut L, _: &L) {}
    fn lr(&self) -> f32 {
        0.0
    }
    fn set_lr(&mut self, _: f32) {}
}

/// The largest difference between two sets of values: `got`, from picogan, and `want`,
/// from a reference (PyTorch, or the same function in f64).
#[derive(Clone, Copy, Debug)]
pub struct Diff {
    /// The measure every tolerance applies to: `max |got - want| / max |want|`.
    pub e: f64,
    /// `max |got - want|`.
    pub max_abs: f64,
    /// Where it is largest.
    pub at: usize,
    /// `got` there.
    pub got: f64,
    /// `want` there.
    pub want: f64,
}

/// Compares two equally long sets of values. A NaN in `got` counts as the largest
/// difference, not as none.
pub fn diff(got: &[f64], want: &[f64]) -> Diff {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (mut at, mut max_abs) = (0, -1.0);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let d = if a.is_nan() {
            f64::INFINITY
        } else {
            (a - b).abs()
        };
        if d > max_abs {
            (at, max_abs) = (i, d);
        }
    }
    Diff {
        e: max_abs / scale.max(f64::MIN_POSITIVE),
        max_abs,
        at,
        got: got.get(at).copied().unwrap_or(f64::NAN),
        want: want.get(at).copied().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_largest_difference_and_scales_it() {
        let d = diff(&[1.0, 2.5, 3.0], &[1.0, 2.0, 4.0]);
        assert_eq!((d.at, d.max_abs, d.e), (2, 1.0, 0.25));
        assert_eq!(diff(&[f64::NAN, 0.0], &[1.0, 0.0]).at, 0);
    }
}
