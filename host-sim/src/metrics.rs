//! Sample quality: the PacGAN protocol for 2-D mixtures, and classifier-based scores with
//! improved precision and recall for images (definitions in the project's benchmark notes:
//! Lin et al. 2018; Kynkäänniemi et al. 2019).

use crate::data::{Images, Mixture};
use picogan::loss::softmax_cross_entropy;
use picogan::optim::{Adam, AdamConfig, Optimizer};
use picogan::{seq, Init, Layer, Linear, Relu};
use serde::Serialize;

/// Number of generated points the 2-D protocol evaluates.
pub const POINTS_EVAL: usize = picogan::mixture::POINTS_EVAL;

pub use picogan::mixture::PointsReport;

/// Evaluates generated points against a mixture, with the core's protocol (the one the
/// firmware runs on itself).
pub fn points_report(mix: &Mixture, points: &[[f32; 2]]) -> PointsReport {
    picogan::mixture::points_report(mix, points)
}

/// The digit classifier: X → 64 (ReLU) → 10 logits, built from picogan's own layers.
type ClassifierNet<const X: usize> = seq![Linear<X, 64>, Relu<64>, Linear<64, 10>];

/// A 10-class image classifier trained on real images, used to score generated ones.
pub struct Classifier<const X: usize> {
    net: Box<ClassifierNet<X>>,
}

impl<const X: usize> Classifier<X> {
    /// Trains on `train` (which must carry labels): Adam (lr 1e-3), minibatches of 32, in
    /// a seeded order, for 30 epochs or about 150,000 samples, whichever is less.
    pub fn train(train: &Images, seed: u64) -> anyhow::Result<Self> {
        let labels = train
            .labels
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("images have no labels"))?;
        anyhow::ensure!(
            train.dim() == X,
            "classifier for {X} pixels given {}",
            train.dim()
        );
        anyhow::ensure!(
            labels.len() == train.len() && labels.iter().all(|&l| l < 10),
            "the classifier needs one label in 0..10 per image"
        );
        let mut rng = crate::rng(seed);
        let mut net = Box::new(ClassifierNet::<X>::ZEROED);
        net.init(Init::PyTorchDefault, &mut rng);
        let mut grads = Box::new(ClassifierNet::<X>::ZEROED);
        let mut adam = Box::new(Adam::<ClassifierNet<X>>::new(AdamConfig::DEFAULT));
        let mut cache = ClassifierNet::<X>::CACHE;
        let (mut logits, mut dlogits) = ([0.0f32; 10], [0.0f32; 10]);
        let mut order: Vec<usize> = (0..train.len()).collect();
        const BATCH: usize = 32;
        let epochs = (150_000 / train.len().max(1)).clamp(1, 30);
        for _epoch in 0..epochs {
            crate::shuffle(&mut order, &mut rng);
            for chunk in order.chunks(BATCH) {
                grads.zero();
                for &i in chunk {
                    let Ok(x) = <&[f32; X]>::try_from(train.image(i)) else {
                        continue; // width checked above
                    };
                    net.forward(x, &mut logits, &mut cache);
                    softmax_cross_entropy(&logits, usize::from(labels[i]), &mut dlogits);
                    dlogits.iter_mut().for_each(|d| *d /= chunk.len() as f32);
                    net.backward(x, &logits, &mut cache, &dlogits, None, Some(&mut grads));
                }
                adam.step(&mut *net, &*grads);
            }
        }
        Ok(Classifier { net })
    }

    /// The most likely class of image `x`; `None` when `x` is not `X` pixels wide.
    pub fn predict(&self, x: &[f32]) -> Option<usize> {
        let mut logits = [0.0f32; 10];
        self.net.infer(x.try_into().ok()?, &mut logits);
        Some((0..10).fold(0, |best, c| if logits[c] > logits[best] { c } else { best }))
    }

    /// The classifier's probability of each class for image `x` (the softmax of its
    /// logits); `None` when `x` is not `X` pixels wide.
    pub fn probabilities(&self, x: &[f32]) -> Option<[f64; 10]> {
        let mut logits = [0.0f32; 10];
        self.net.infer(x.try_into().ok()?, &mut logits);
        let top = logits.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l));
        let e = logits.map(|l| f64::from(l - top).exp());
        let total: f64 = e.iter().sum();
        Some(e.map(|v| v / total))
    }

    /// Share of `images` classified as labelled.
    pub fn accuracy(&self, images: &Images) -> f64 {
        let Some(labels) = images.labels.as_ref() else {
            return f64::NAN;
        };
        let right = (0..images.len())
            .filter(|&i| self.predict(images.image(i)) == Some(usize::from(labels[i])))
            .count();
        right as f64 / images.len().max(1) as f64
    }
}

/// Classifier-based and manifold-based scores of a set of images against real ones.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ImageReport {
    /// Images scored.
    pub samples: usize,
    /// Classes that receive at least 1 % of the images, by the classifier.
    pub classes_covered: usize,
    /// Share of images per class, by the classifier.
    pub class_histogram: Vec<f64>,
    /// `KL(p_samples ‖ p_real)` between the classifier's histogram of the images and the
    /// real training labels' histogram (nats).
    pub class_kl: f64,
    /// Improved precision (k = 3): share of the images inside the real manifold.
    pub precision: f64,
    /// Improved recall (k = 3): share of the real images inside the images' manifold.
    pub recall: f64,
}

/// Scores `images` (`[n][X]`, flat) against the real training images `real`.
pub fn image_report<const X: usize>(
    clf: &Classifier<X>,
    real: &Images,
    images: &[f32],
) -> ImageReport {
    let n = images.len() / X;
    let mut hist = vec![0.0f64; 10];
    for x in images.chunks_exact(X) {
        if let Some(c) = clf.predict(x) {
            hist[c] += 1.0 / n as f64;
        }
    }
    let mut real_hist = vec![0.0f64; 10];
    if let Some(labels) = &real.labels {
        for &l in labels {
            real_hist[usize::from(l)] += 1.0 / labels.len() as f64;
        }
    }
    let class_kl = hist
        .iter()
        .zip(&real_hist)
        .filter(|(p, _)| **p > 0.0)
        .map(|(p, q)| p * (p / q).ln())
        .sum();
    let (precision, recall) = precision_recall(&real.pixels, images, X, 3);
    ImageReport {
        samples: n,
        classes_covered: hist.iter().filter(|&&p| p >= 0.01).count(),
        class_histogram: hist,
        class_kl,
        precision,
        recall,
    }
}

/// Mean over `images` (`[n][X]`, flat) of the classifier's probability of the class it
/// picks: how sure it is that the images are digits of some class.
pub fn mean_confidence<const X: usize>(clf: &Classifier<X>, images: &[f32]) -> f64 {
    let top = |x: &[f32]| {
        clf.probabilities(x)
            .map_or(0.0, |p| p.iter().fold(0.0f64, |m, &v| m.max(v)))
    };
    let n = images.len() / X;
    images.chunks_exact(X).map(top).sum::<f64>() / n.max(1) as f64
}

/// Share of image pairs, `a[i]` beside `b[i]` (both `[n][X]`, flat), that the classifier
/// puts in the same class: for samples of two versions of a Generator on the same noise.
pub fn class_agreement<const X: usize>(clf: &Classifier<X>, a: &[f32], b: &[f32]) -> f64 {
    let pairs = a.chunks_exact(X).zip(b.chunks_exact(X));
    let n = pairs.len();
    let same = pairs
        .filter(|(x, y)| clf.predict(x) == clf.predict(y))
        .count();
    same as f64 / n.max(1) as f64
}

/// Improved precision and recall (Kynkäänniemi et al. 2019) of `fake` against `real`,
/// both `[n][dim]` flat, with k-th nearest-neighbour balls, in pixel space.
pub fn precision_recall(real: &[f32], fake: &[f32], dim: usize, k: usize) -> (f64, f64) {
    if dim == 0 || k == 0 {
        return (f64::NAN, f64::NAN);
    }
    let real: Vec<&[f32]> = real.chunks_exact(dim).collect();
    let fake: Vec<&[f32]> = fake.chunks_exact(dim).collect();
    let real_radii = knn_radii(&real, k);
    let fake_radii = knn_radii(&fake, k);
    let inside = |p: &[f32], set: &[&[f32]], radii: &[f32]| {
        set.iter().zip(radii).any(|(q, &r)| dist2(p, q) <= r)
    };
    let share = |pts: &[&[f32]], set: &[&[f32]], radii: &[f32]| {
        pts.iter().filter(|p| inside(p, set, radii)).count() as f64 / pts.len().max(1) as f64
    };
    (
        share(&fake, &real, &real_radii),
        share(&real, &fake, &fake_radii),
    )
}

/// Squared distance from each point to its k-th nearest other point.
fn knn_radii(pts: &[&[f32]], k: usize) -> Vec<f32> {
    pts.iter()
        .enumerate()
        .map(|(i, p)| {
            let mut d: Vec<f32> = pts
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, q)| dist2(p, q))
                .collect();
            if d.len() < k {
                return f32::INFINITY;
            }
            let (_, kth, _) = d.select_nth_unstable_by(k - 1, f32::total_cmp);
            *kth
        })
        .collect()
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_exactly_on_modes_score_perfectly() {
        let mix = Mixture::ring8();
        let pts: Vec<[f32; 2]> = (0..800).map(|i| mix.means()[i % 8]).collect();
        let r = points_report(&mix, &pts);
        assert_eq!((r.modes_captured, r.high_quality_pct), (8, 100.0));
        assert!(r.reverse_kl.abs() < 1e-12);
    }

    #[test]
    fn collapse_to_one_mode_scores_ln_k() {
        let mix = Mixture::grid25();
        let pts = vec![[2.0f32, 2.01]; 100];
        let r = points_report(&mix, &pts);
        assert_eq!(r.modes_captured, 1);
        assert!((r.reverse_kl - 25f64.ln()).abs() < 1e-12);
        // 0.2 from (2, 2) is 4σ: not high quality
        assert_eq!(points_report(&mix, &[[2.2, 2.0]]).high_quality_pct, 0.0);
    }

    #[test]
    fn samples_from_the_mixture_are_about_99_percent_high_quality() {
        // Within 3σ in 2-D: 1 - e^{-9/2} = 98.9 %; 2,500 points give a standard error of
        // 0.2 %, so ±1 % is five of them.
        let mix = Mixture::ring8();
        let pts = crate::data::draw(&mix, POINTS_EVAL, crate::rng(5));
        let r = points_report(&mix, &pts);
        assert_eq!(r.modes_captured, 8);
        assert!(
            (r.high_quality_pct - 98.9).abs() < 1.0,
            "{}",
            r.high_quality_pct
        );
    }

    #[test]
    fn precision_recall_separate_disjoint_sets() {
        // Two clusters far apart: fake on top of real scores (1, 1); far away (0, 0).
        let real: Vec<f32> = (0..20).flat_map(|i| [i as f32 * 0.1, 0.0]).collect();
        let near: Vec<f32> = (0..20).flat_map(|i| [i as f32 * 0.1 + 0.01, 0.0]).collect();
        let far: Vec<f32> = near.iter().map(|v| v + 100.0).collect();
        assert_eq!(precision_recall(&real, &near, 2, 3), (1.0, 1.0));
        assert_eq!(precision_recall(&real, &far, 2, 3), (0.0, 0.0));
    }
}
