//! The host side of picogan: data sets, training runs, metrics, plots and weight files
//! behind the `picogan` command.

pub mod checkpoint;
pub mod data;
pub mod emulate;
pub mod hash;
pub mod import;
pub mod metrics;
pub mod plot;
pub mod resources;
pub mod sample;
pub mod train;
pub mod weights;

use anyhow::{Context, Result};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The generator behind every random choice on the host: the same one the firmware uses.
pub type HostRng = Xoshiro128PlusPlus;

/// A generator seeded from `seed`.
pub fn rng(seed: u64) -> HostRng {
    HostRng::seed_from_u64(seed)
}

/// Independent random streams of one run, so that changing how much one part draws (say,
/// the evaluation) leaves the others as they were. The firmware seeds its streams the same
/// way.
pub use picogan::streams::Stream;

/// The generator for one stream of the run with the given seed.
pub fn rng_stream(seed: u64, stream: Stream) -> HostRng {
    rng(picogan::streams::stream_seed(seed, stream))
}

/// Fisher–Yates shuffle.
pub fn shuffle<T, R: Rng>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// A set of output files written under temporary names in their directory and renamed
/// into place together by [`Staging::commit`]. A run that fails before then removes what
/// it wrote and leaves an earlier run's files as they were.
pub struct Staging {
    dir: PathBuf,
    /// (temporary path, final path) of each file.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    /// Stages files for `dir`, creating it if needed.
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        })
    }

    /// The temporary path to write `name` to. It keeps the extension, which says the
    /// format to the picture writer.
    pub fn file(&mut self, name: &str) -> PathBuf {
        let tmp = self.dir.join(format!(".partial-{name}"));
        self.files.push((tmp.clone(), self.dir.join(name)));
        tmp
    }

    /// Renames every file into place; returns the final paths in staging order.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for (tmp, path) in std::mem::take(&mut self.files) {
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            done.push(path);
        }
        Ok(done)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// True when `a` and `b` name the same existing file.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes points as `x,y` lines under a header.
pub fn write_points_csv(path: &Path, points: &[[f32; 2]]) -> Result<()> {
    let mut text = String::from("x,y\n");
    for p in points {
        text.push_str(&format!("{},{}\n", p[0], p[1]));
    }
    let mut f =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Evaluates `$body` with `$G`, `$D` and `$X` naming the Generator type, the Discriminator
/// type and the data width of the model pair for data `$x` values wide and architecture
/// `$arch`; an error for pairs that do not exist.
macro_rules! with_models {
    ($x:expr, $arch:expr, |$G:ident, $D:ident, $X:ident| $body:expr) => {{
        use picogan::models::*;
        use $crate::train::Arch;
        match ($x, $arch) {
            (2, Arch::Small) => {
                #[allow(dead_code)]
                type $G = PointsGenerator;
                #[allow(dead_code)]
                type $D = PointsDiscriminator;
                #[allow(dead_code)]
                const $X: usize = 2;
                $body
            }
            (64, Arch::Small) => {
                #[allow(dead_code)]
                type $G = SmallGenerator<64>;
                #[allow(dead_code)]
                type $D = SmallDiscriminator<64>;
                #[allow(dead_code)]
                const $X: usize = 64;
                $body
            }
            (64, Arch::Seed) => {
                #[allow(dead_code)]
                type $G = SeedShapedGenerator<64>;
                #[allow(dead_code)]
                type $D = SeedShapedDiscriminator<64>;
                #[allow(dead_code)]
                const $X: usize = 64;
                $body
            }
            (784, Arch::Small) => {
                #[allow(dead_code)]
                type $G = SmallGenerator<784>;
                #[allow(dead_code)]
                type $D = SmallDiscriminator<784>;
                #[allow(dead_code)]
                const $X: usize = 784;
                $body
            }
            (784, Arch::Seed) => {
                #[allow(dead_code)]
                type $G = SeedGenerator;
                #[allow(dead_code)]
                type $D = SeedDiscriminator;
                #[allow(dead_code)]
                const $X: usize = 784;
                $body
            }
            (2, Arch::Tiny) => {
                #[allow(dead_code)]
                type $G = TinyPointsGenerator;
                #[allow(dead_code)]
                type $D = TinyPointsDiscriminator;
                #[allow(dead_code)]
                const $X: usize = 2;
                $body
            }
            (_, Arch::Tiny) => {
                anyhow::bail!("--arch tiny is a pair for 2-D points; use ring8 or grid25")
            }
            (2, Arch::Seed) => {
                anyhow::bail!(
                    "the seed architecture ends in Tanh, for images; 2-D data needs --arch small"
                )
            }
            (x, _) => anyhow::bail!("no model for data {x} values wide"),
        }
    }};
}
pub(crate) use with_models;
