//! Training data: the built-in handwritten digits, IDX image files, and the 2-D mixtures of
//! the mode-collapse benchmarks.

use anyhow::{bail, ensure, Context, Result};
use flate2::read::{GzDecoder, MultiGzDecoder};
use rand_core::Rng;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The 1,797 handwritten 8×8 digits of the UCI "Optical Recognition of Handwritten Digits"
/// test set (CC BY 4.0; see `data/README.md`), built into the program.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/optdigits-8x8.csv.gz");

/// A set of images with pixel values scaled to [-1, 1], the range of a Tanh output.
#[derive(Clone, Debug)]
pub struct Images {
    /// Image height and width in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub cols: usize,
    /// Pixels, row-major, one image after the other: `[n][rows·cols]`.
    pub pixels: Vec<f32>,
    /// Class of each image, where the source has them.
    pub labels: Option<Vec<u8>>,
}

impl Images {
    /// Pixels per image.
    pub fn dim(&self) -> usize {
        self.rows * self.cols
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.pixels.len() / self.dim().max(1)
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * self.dim()..(i + 1) * self.dim()]
    }

    /// Splits into the images at `first` and the rest, keeping labels with their images.
    /// Indices past the end are ignored.
    pub fn split(&self, first: &[usize]) -> (Images, Images) {
        let mut is_first = vec![false; self.len()];
        for &i in first {
            if let Some(f) = is_first.get_mut(i) {
                *f = true;
            }
        }
        let pick = |want: bool| {
            let idx: Vec<usize> = (0..self.len()).filter(|&i| is_first[i] == want).collect();
            Images {
                rows: self.rows,
                cols: self.cols,
                pixels: idx
                    .iter()
                    .flat_map(|&i| self.image(i).iter().copied())
                    .collect(),
                labels: self
                    .labels
                    .as_ref()
                    .map(|l| idx.iter().map(|&i| l[i]).collect()),
            }
        };
        (pick(true), pick(false))
    }

    /// A deterministic train/held-out split: every fifth image (by a fixed shuffle) is
    /// held out, so both parts keep the class balance of the whole.
    pub fn train_heldout(&self, seed: u64) -> (Images, Images) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        crate::shuffle(&mut order, &mut crate::rng(seed));
        let held: Vec<usize> = order.iter().copied().step_by(5).collect();
        let (held, train) = self.split(&held);
        (train, held)
    }
}

/// The built-in digits: 8×8, intensities 0..16 mapped linearly to [-1, 1].
pub fn digits() -> Result<Images> {
    let mut text = String::new();
    GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .context("built-in digits")?;
    parse_digits_csv(&text)
}

fn parse_digits_csv(text: &str) -> Result<Images> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(',').collect();
        ensure!(
            fields.len() == 65,
            "digits line {}: {} fields, expected 65",
            n + 1,
            fields.len()
        );
        for f in &fields[..64] {
            let v: u8 = f
                .trim()
                .parse()
                .with_context(|| format!("digits line {}", n + 1))?;
            ensure!(v <= 16, "digits line {}: intensity {v} above 16", n + 1);
            pixels.push(f32::from(v) / 8.0 - 1.0);
        }
        let label: u8 = fields[64]
            .trim()
            .parse()
            .with_context(|| format!("digits line {}", n + 1))?;
        ensure!(label < 10, "digits line {}: label {label}", n + 1);
        labels.push(label);
    }
    Ok(Images {
        rows: 8,
        cols: 8,
        pixels,
        labels: Some(labels),
    })
}

/// Reads an IDX image file (LeCun's MNIST format, as Fashion-MNIST ships it), gzipped or
/// not. Labels come from the sibling `*-labels-idx1-ubyte[.gz]` file when there is one.
pub fn idx_images(path: &Path) -> Result<Images> {
    let bytes = read_maybe_gz(path)?;
    let (dims, body) = idx_header(&bytes, path)?;
    let [n, rows, cols] = dims[..] else {
        bail!(
            "{}: {} dimensions, expected 3 (images × rows × cols)",
            path.display(),
            dims.len()
        );
    };
    let pixels = body.iter().map(|&p| f32::from(p) / 127.5 - 1.0).collect();
    let labels = match labels_path(path) {
        Some(lp) if lp.exists() => {
            let bytes = read_maybe_gz(&lp)?;
            let (ldims, lbody) = idx_header(&bytes, &lp)?;
            ensure!(
                ldims == [n] && lbody.iter().all(|&l| l < 10),
                "{}: expected {n} labels in 0..10 to match {}",
                lp.display(),
                path.display()
            );
            Some(lbody.to_vec())
        }
        _ => None,
    };
    Ok(Images {
        rows,
        cols,
        pixels,
        labels,
    })
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // every member: a concatenation of gzip files is a valid gzip file
        MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{}: corrupt gzip data", path.display()))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Checks the IDX magic (two zero bytes, type 0x08 = unsigned byte, dimension count), then
/// returns the dimensions and exactly the data they describe.
fn idx_header<'a>(bytes: &'a [u8], path: &Path) -> Result<(Vec<usize>, &'a [u8])> {
    let shown = path.display();
    ensure!(
        bytes.len() >= 4,
        "{shown}: too short for an IDX file ({} bytes)",
        bytes.len()
    );
    ensure!(
        bytes[0] == 0 && bytes[1] == 0,
        "{shown}: not an IDX file (bad magic)"
    );
    ensure!(
        bytes[2] == 0x08,
        "{shown}: IDX element type {:#04x}, expected 0x08 (u8)",
        bytes[2]
    );
    let ndim = usize::from(bytes[3]);
    let header = 4 + 4 * ndim;
    ensure!(bytes.len() >= header, "{shown}: truncated IDX header");
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let body = &bytes[header..];
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    ensure!(
        count.is_some(),
        "{shown}: dimensions {dims:?} describe more bytes than a file can hold"
    );
    let count = count.unwrap_or_default();
    ensure!(
        count == body.len(),
        "{shown}: dimensions {dims:?} need {count} bytes of data, file has {}",
        body.len()
    );
    Ok((dims, body))
}

fn labels_path(images: &Path) -> Option<PathBuf> {
    let name = images.file_name()?.to_str()?;
    let swapped = name.replace("images-idx3", "labels-idx1");
    (swapped != name).then(|| images.with_file_name(swapped))
}

/// A mixture of isotropic Gaussians in the plane, as in the PacGAN protocol: the core's,
/// so that the desktop and the firmware draw and score the same points.
pub use picogan::mixture::Mixture;

/// `n` points drawn from `mix`.
pub fn draw<R: Rng>(mix: &Mixture, n: usize, mut rng: R) -> Vec<[f32; 2]> {
    (0..n)
        .map(|_| {
            let mut p = [0.0; 2];
            mix.sample(&mut rng, &mut p);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_digits_are_complete() {
        let d = digits().unwrap();
        assert_eq!((d.len(), d.dim()), (1797, 64));
        let labels = d.labels.as_ref().unwrap();
        for c in 0..10 {
            assert!(
                labels.iter().filter(|&&l| l == c).count() >= 170,
                "class {c}"
            );
        }
        assert!(d.pixels.iter().all(|p| (-1.0..=1.0).contains(p)));
    }

    #[test]
    fn split_is_disjoint_and_complete() {
        let d = digits().unwrap();
        let (train, held) = d.train_heldout(0);
        assert_eq!(train.len() + held.len(), d.len());
        assert_eq!(held.len(), 360);
    }

    #[test]
    fn bad_csv_lines_are_reported_with_their_number() {
        let err = parse_digits_csv("0,1\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let line = format!("{}17,3", "0,".repeat(63));
        assert!(parse_digits_csv(&line)
            .unwrap_err()
            .to_string()
            .contains("above 16"));
    }

    #[test]
    fn idx_header_rejects_truncation() {
        let mut f = vec![0, 0, 8, 3];
        for d in [2u32, 2, 2] {
            f.extend_from_slice(&d.to_be_bytes());
        }
        f.extend_from_slice(&[0; 7]);
        let err = idx_header(&f, Path::new("x")).unwrap_err().to_string();
        assert!(err.contains("need 8 bytes"), "{err}");
        f.push(0);
        assert_eq!(idx_header(&f, Path::new("x")).unwrap().0, vec![2, 2, 2]);
    }

    #[test]
    fn ring8_has_eight_distinct_modes() {
        let m = Mixture::ring8();
        let means = m.means();
        for i in 0..8 {
            for j in 0..i {
                let d = (means[i][0] - means[j][0]).hypot(means[i][1] - means[j][1]);
                assert!(d > 0.7, "modes {i} and {j} are {d} apart");
            }
        }
    }
}
