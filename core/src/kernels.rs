//! The inner loops every fully connected layer runs.
//!
//! The summation order is part of picogan's results: every target computes the same bits
//! because every target runs these loops as written. `f32::mul_add` is never used, and Rust
//! does not contract `a * b + c` into a fused multiply-add on its own.

/// Number of independent partial sums in [`dot`].
///
/// Eight breaks the dependency chain of a single accumulator (a scalar FPU can issue the
/// next multiply-add before the previous one retires) and lets the host vectorise the loop
/// as one 8-wide or two 4-wide registers.
const LANES: usize = 8;

/// `Σ a[i]·b[i]`.
///
/// Order: element `i` of the whole chunks of eight goes to partial sum `i % 8`, in order;
/// the partial sums are combined as `((p0+p4)+(p1+p5)) + ((p2+p6)+(p3+p7))`; the leftover
/// elements (fewer than eight) are summed in order and added last.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a_chunks, a_tail) = a[..n].as_chunks::<LANES>();
    let (b_chunks, b_tail) = b[..n].as_chunks::<LANES>();

    let mut p = [0.0f32; LANES];
    for (ca, cb) in a_chunks.iter().zip(b_chunks) {
        for j in 0..LANES {
            p[j] += ca[j] * cb[j];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    (((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]))) + tail
}

/// `y[i] += alpha·x[i]`, in order.
#[inline]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_exact_sum_of_small_integers() {
        // Products of small integers are exact in f32, so any order gives the exact sum.
        for n in 0..40 {
            let a: [f32; 40] = core::array::from_fn(|i| (i as f32) - 7.0);
            let b: [f32; 40] = core::array::from_fn(|i| 3.0 - (i % 5) as f32);
            let want: f32 = (0..n).map(|i| a[i] * b[i]).sum();
            assert_eq!(dot(&a[..n], &b[..n]), want, "n = {n}");
        }
    }

    #[test]
    fn dot_follows_the_documented_order() {
        // 1e8 + 1 - 1e8 is 0 or 1 depending on order, so this pins the lane pairing.
        let mut a = [0.0f32; 9];
        a[0] = 1e8;
        a[4] = -1e8;
        a[1] = 1.0;
        a[8] = 0.5;
        let b = [1.0f32; 9];
        // ((1e8 + -1e8) + (1 + 0)) + ((0 + 0) + (0 + 0)) + 0.5 = 1.5
        assert_eq!(dot(&a, &b), 1.5);
    }

    #[test]
    fn axpy_adds_scaled() {
        let mut y = [1.0, 2.0, 3.0];
        axpy(2.0, &[1.0, -1.0, 0.5], &mut y);
        assert_eq!(y, [3.0, 0.0, 4.0]);
    }
}
