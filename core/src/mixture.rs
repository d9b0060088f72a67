//! The 2-D Gaussian mixtures of the mode-collapse benchmarks, and their scoring protocol.
//!
//! The mixtures and the protocol are those of PacGAN (Lin et al. 2018, section 5.1, after
//! Metz et al. 2017): eight modes on a ring and twenty-five on a grid. A generated point is
//! *high quality* when it lies within 3σ of its nearest mode; a mode is *captured* when at
//! least one high-quality point is nearest to it; the reverse KL divergence compares the
//! histogram of high-quality points over the modes with the uniform one.
//!
//! Everything here is allocation-free, so a microcontroller scores its own Generator with
//! the same code, and the same bits, as the desktop.

use crate::Scalar;
use rand_core::Rng;

/// Most modes a [`Mixture`] can hold: the 25 of [`Mixture::grid25`].
pub const MAX_MODES: usize = 25;

/// Number of generated points the protocol scores.
pub const POINTS_EVAL: usize = 2_500;

/// Why a [`Mixture`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixtureError {
    /// No means, or more than [`MAX_MODES`]; holds the number given.
    ModeCount(usize),
    /// σ is not a positive finite number.
    Sigma,
}

impl core::fmt::Display for MixtureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MixtureError::ModeCount(n) => {
                write!(f, "a mixture needs 1 to {MAX_MODES} modes, got {n}")
            }
            MixtureError::Sigma => f.write_str("σ must be a positive finite number"),
        }
    }
}

impl core::error::Error for MixtureError {}

/// A mixture of equally weighted isotropic Gaussians in the plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mixture {
    /// Name used on the command line and in reports.
    pub name: &'static str,
    /// Standard deviation per dimension.
    pub sigma: f32,
    /// Component means; only the first `modes` are used.
    means: [[f32; 2]; MAX_MODES],
    /// Number of components, `1..=MAX_MODES`.
    modes: usize,
}

impl Mixture {
    /// A mixture with the given means and σ.
    pub fn new(name: &'static str, means: &[[f32; 2]], sigma: f32) -> Result<Self, MixtureError> {
        if means.is_empty() || means.len() > MAX_MODES {
            return Err(MixtureError::ModeCount(means.len()));
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(MixtureError::Sigma);
        }
        Ok(Self::from_modes(name, means, sigma))
    }

    /// Eight modes evenly spaced on the unit circle at angles 2πi/8, σ = 0.01.
    ///
    /// The angles, cosines and sines are computed in f64 with `libm` and rounded once to
    /// f32, so every target gets the same bits.
    pub fn ring8() -> Self {
        let mut means = [[0.0f32; 2]; 8];
        for (i, m) in means.iter_mut().enumerate() {
            let a = core::f64::consts::TAU * i as f64 / 8.0;
            *m = [libm::cos(a) as f32, libm::sin(a) as f32];
        }
        Self::from_modes("ring8", &means, 0.01)
    }

    /// A 5×5 grid of modes at {-4, -2, 0, 2, 4}², σ = 0.05, listed row by row in x.
    pub fn grid25() -> Self {
        const TICKS: [f32; 5] = [-4.0, -2.0, 0.0, 2.0, 4.0];
        let means: [[f32; 2]; 25] = core::array::from_fn(|i| [TICKS[i / 5], TICKS[i % 5]]);
        Self::from_modes("grid25", &means, 0.05)
    }

    /// Builds a mixture from checked parts; means past [`MAX_MODES`] are dropped.
    fn from_modes(name: &'static str, means: &[[f32; 2]], sigma: f32) -> Self {
        let mut m = Mixture {
            name,
            sigma,
            means: [[0.0; 2]; MAX_MODES],
            modes: means.len().min(MAX_MODES),
        };
        for (dst, src) in m.means.iter_mut().zip(means) {
            *dst = *src;
        }
        m
    }

    /// The component means.
    pub fn means(&self) -> &[[f32; 2]] {
        &self.means[..self.modes]
    }

    /// Number of components `K`.
    pub fn modes(&self) -> usize {
        self.modes
    }

    /// One point into `out[..2]`: a uniformly chosen mode plus Gaussian noise of σ.
    ///
    /// Draws one `u64` for the mode (reduced modulo `K`; the bias is below 2⁻⁵⁹) and then
    /// two Gaussians from [`Scalar::gaussian`] (for f32,
    /// [`noise::gaussian`](crate::noise::gaussian)). The means and σ are rounded to `S`.
    pub fn sample<S: Scalar, R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [S]) {
        let k = (rng.next_u64() % self.modes as u64) as usize;
        let mut e = [S::ZERO; 2];
        S::gaussian(rng, &mut e);
        let sigma = S::from_f32(self.sigma);
        for ((o, m), e) in out.iter_mut().zip(self.means[k]).zip(e) {
            *o = S::from_f32(m) + sigma * e;
        }
    }

    /// The index of the mode nearest to `p` and the Euclidean distance to it, in f64.
    /// Ties go to the lower index.
    pub fn nearest(&self, p: [f32; 2]) -> (usize, f64) {
        let mut best = (0, f64::INFINITY);
        for (i, m) in self.means().iter().enumerate() {
            let d = libm::hypot(f64::from(p[0] - m[0]), f64::from(p[1] - m[1]));
            if d < best.1 {
                best = (i, d);
            }
        }
        best
    }

    /// A fresh scorer of points against this mixture.
    pub fn protocol(&self) -> PointsProtocol<'_> {
        PointsProtocol {
            mix: self,
            counts: [0; MAX_MODES],
            points: 0,
        }
    }
}

/// The protocol's figures for a set of points.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PointsReport {
    /// Modes with at least one high-quality point nearest to them.
    pub modes_captured: usize,
    /// Number of modes of the mixture.
    pub modes: usize,
    /// Share of points within 3σ of their nearest mode, in percent.
    pub high_quality_pct: f64,
    /// `KL(p̂ ‖ U) = ln K − H(p̂)` of the high-quality points' mode histogram (nats); 0 is
    /// a perfectly even spread, `ln K` all points on one mode. Infinite when no point is
    /// high quality (`null` in JSON, which has no infinity).
    pub reverse_kl: f64,
    /// Points scored.
    pub samples: usize,
}

/// Scores points one at a time, so that no buffer of points is needed.
#[derive(Clone, Debug)]
pub struct PointsProtocol<'a> {
    mix: &'a Mixture,
    /// High-quality points nearest to each mode, `[K]`.
    counts: [u32; MAX_MODES],
    /// Points seen.
    points: u32,
}

impl PointsProtocol<'_> {
    /// Scores one point.
    pub fn add(&mut self, p: [f32; 2]) {
        let (mode, dist) = self.mix.nearest(p);
        if dist < 3.0 * f64::from(self.mix.sigma) {
            self.counts[mode] = self.counts[mode].saturating_add(1);
        }
        self.points = self.points.saturating_add(1);
    }

    /// The figures for the points seen so far.
    pub fn report(&self) -> PointsReport {
        let k = self.mix.modes();
        let counts = &self.counts[..k];
        let hq: u32 = counts.iter().sum();

        // entropy of the histogram, summed over occupied modes in index order
        let mut entropy = 0.0f64;
        for &c in counts.iter().filter(|&&c| c > 0) {
            let p = f64::from(c) / f64::from(hq);
            entropy += -p * libm::log(p);
        }
        PointsReport {
            modes_captured: counts.iter().filter(|&&c| c > 0).count(),
            modes: k,
            high_quality_pct: 100.0 * f64::from(hq) / f64::from(self.points.max(1)),
            reverse_kl: if hq == 0 {
                f64::INFINITY
            } else {
                libm::log(k as f64) - entropy
            },
            samples: self.points as usize,
        }
    }
}

/// Scores a set of points against a mixture.
pub fn points_report(mix: &Mixture, points: &[[f32; 2]]) -> PointsReport {
    let mut protocol = mix.protocol();
    for &p in points {
        protocol.add(p);
    }
    protocol.report()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro128PlusPlus;

    #[test]
    fn ring8_means_are_on_the_unit_circle_and_distinct() {
        let m = Mixture::ring8();
        assert_eq!(m.means()[0], [1.0, 0.0]);
        for (i, a) in m.means().iter().enumerate() {
            assert!((libm::hypotf(a[0], a[1]) - 1.0).abs() < 1e-7, "mode {i}");
            for b in &m.means()[..i] {
                assert!(libm::hypotf(a[0] - b[0], a[1] - b[1]) > 0.7);
            }
        }
    }

    #[test]
    fn grid25_covers_the_grid() {
        let m = Mixture::grid25();
        assert_eq!(m.modes(), 25);
        assert_eq!(m.means()[0], [-4.0, -4.0]);
        assert_eq!(m.means()[7], [-2.0, 0.0]);
        assert_eq!(m.means()[24], [4.0, 4.0]);
    }

    #[test]
    fn bad_mixtures_are_refused() {
        assert_eq!(Mixture::new("x", &[], 1.0), Err(MixtureError::ModeCount(0)));
        assert_eq!(
            Mixture::new("x", &[[0.0; 2]; 26], 1.0),
            Err(MixtureError::ModeCount(26))
        );
        assert_eq!(
            Mixture::new("x", &[[0.0; 2]], f32::NAN),
            Err(MixtureError::Sigma)
        );
        let two = Mixture::new("two", &[[0.0, 0.0], [1.0, 0.0]], 0.1).unwrap();
        assert_eq!(two.means(), &[[0.0, 0.0], [1.0, 0.0]]);
    }

    #[test]
    fn points_on_the_modes_score_perfectly() {
        let mix = Mixture::ring8();
        let mut protocol = mix.protocol();
        for i in 0..800 {
            protocol.add(mix.means()[i % 8]);
        }
        let r = protocol.report();
        assert_eq!(
            (r.modes_captured, r.high_quality_pct, r.samples),
            (8, 100.0, 800)
        );
        assert!(r.reverse_kl.abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn collapse_to_one_mode_scores_ln_k() {
        let mix = Mixture::grid25();
        let r = points_report(&mix, &[[2.0, 2.01]; 100]);
        assert_eq!(r.modes_captured, 1);
        assert!((r.reverse_kl - libm::log(25.0)).abs() < 1e-12);
        // 0.2 from (2, 2) is 4σ: not high quality, and with no such point KL is infinite
        let far = points_report(&mix, &[[2.2, 2.0]]);
        assert_eq!(far.high_quality_pct, 0.0);
        assert_eq!(far.reverse_kl, f64::INFINITY);
    }

    #[test]
    fn samples_land_near_their_modes() {
        // Within 3σ in 2-D: 1 - e^{-9/2} = 98.9 %; 2,500 points give a standard error of
        // 0.2 %, so ±1 % is five of them.
        let mix = Mixture::ring8();
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(5);
        let mut protocol = mix.protocol();
        for _ in 0..POINTS_EVAL {
            let mut p = [0.0; 2];
            mix.sample(&mut rng, &mut p);
            protocol.add(p);
        }
        let r = protocol.report();
        assert_eq!(r.modes_captured, 8);
        assert!((r.high_quality_pct - 98.9).abs() < 1.0, "{r:?}");
    }
}
