//! The host side of picogan: data sets, training runs, metrics, plots and weight files
//! behind the `picogan` command.

pub mod checkpoint;
pub mod data;
pub mod emulate;
pub mod hash;
pub mod import;
pub mod metrics;
pub mod plot;
pub mod quantize;
pub mod resources;
pub mod sample;
pub mod train;
pub mod weights;

use anyhow::{bail, Context, Result};
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;
use std::fs::TryLockError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// How the temporary files of this crate's writers start: [`Staging`]'s and those of
/// [`weights::write_atomic`]. A writer killed before it renames such a file into place
/// leaves it behind; [`OutLock::remove_partials`] clears them.
pub const PARTIAL_PREFIX: &str = ".partial-";

/// A set of output files written under temporary names in their directory and renamed
/// into place together by [`Staging::commit`]. A run that fails before then removes what
/// it wrote and leaves an earlier run's files as they were.
pub struct Staging {
    dir: PathBuf,
    /// Part of every temporary name: the process id and a count of this process's
    /// stagings, so that no two stagings write to the same temporary file.
    id: String,
    /// (temporary path, final path) of each file.
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staging {
    /// Stages files for `dir`, creating it if needed.
    pub fn new(dir: &Path) -> Result<Self> {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        Ok(Staging {
            dir: dir.to_path_buf(),
            id: format!("{}.{n}", std::process::id()),
            files: Vec::new(),
        })
    }

    /// The temporary path to write `name` to. It keeps the extension, which says the
    /// format to the picture writer.
    pub fn file(&mut self, name: &str) -> PathBuf {
        let tmp = self.dir.join(format!("{PARTIAL_PREFIX}{}-{name}", self.id));
        self.files.push((tmp.clone(), self.dir.join(name)));
        tmp
    }

    /// Renames every file into place; returns the final paths in staging order.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for (tmp, path) in std::mem::take(&mut self.files) {
            // as every file picogan writes: through links, keeping the permissions of what
            // it replaces
            let (target, old) = weights::write_target(&path)?;
            let fail = || format!("cannot write {}", path.display());
            if let Some(permissions) = old {
                std::fs::set_permissions(&tmp, permissions).with_context(fail)?;
            }
            std::fs::rename(&tmp, &target).with_context(fail)?;
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

/// The lock file a run keeps in its output directory while it writes there.
pub const LOCK_FILE: &str = ".picogan-lock";

/// An exclusive advisory lock on an output directory, from [`OutLock::take`] until it is
/// dropped. A second run that tries to take it fails at once, instead of mixing its files
/// with the first one's. Dropping it removes the lock file.
pub struct OutLock {
    dir: PathBuf,
    file: std::fs::File,
}

impl OutLock {
    /// Locks `dir`, which must exist; fails at once if another run holds it.
    pub fn take(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let fail = || format!("cannot lock {}", path.display());
        // The run that held the lock removes the file before it releases it, perhaps
        // between our opening the file and locking it: our lock is then on a file no
        // longer in the directory, and we try again with the one there now.
        for _ in 0..16 {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .with_context(fail)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    bail!("another picogan run is writing to {}", dir.display())
                }
                // a file system without locks: runs are not kept apart there
                Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {}
                Err(TryLockError::Error(e)) => return Err(e).with_context(fail),
            }
            if is_file_at(&file, &path) {
                return Ok(OutLock {
                    dir: dir.to_path_buf(),
                    file,
                });
            }
        }
        bail!(
            "cannot lock {}: other runs keep replacing it",
            path.display()
        )
    }

    /// Removes the temporary files ([`PARTIAL_PREFIX`]) that writers killed mid-write left
    /// in the directory. Holding the lock, no other run is writing them.
    pub fn remove_partials(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let partial = e.file_name().to_string_lossy().starts_with(PARTIAL_PREFIX);
            if partial && e.file_type().is_ok_and(|t| t.is_file()) {
                // one that stays is only clutter: later runs do not read it
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

impl Drop for OutLock {
    fn drop(&mut self) {
        // removed while still locked: a run that opened it meanwhile finds, once it holds
        // the lock, that the file is gone, and starts over (see `take`)
        #[cfg(unix)]
        let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
        let _ = self.file.unlock();
    }
}

/// True when `file` is the file at `path`.
#[cfg(unix)]
fn is_file_at(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Where a lock file cannot be removed while open, it is never removed, and so is always
/// the file at its path.
#[cfg(not(unix))]
fn is_file_at(_: &std::fs::File, _: &Path) -> bool {
    true
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
/// `$arch`, computing in the scalar `$S` (f32 when not given); an error for pairs that do
/// not exist.
macro_rules! with_models {
    ($x:expr, $arch:expr, |$G:ident, $D:ident, $X:ident| $body:expr) => {
        $crate::with_models!($x, $arch, f32, |$G, $D, $X| $body)
    };
    ($x:expr, $arch:expr, $S:ty, |$G:ident, $D:ident, $X:ident| $body:expr) => {{
        use picogan::models::*;
        use $crate::train::Arch;
        match ($x, $arch) {
            (2, Arch::Small) => {
                #[allow(dead_code)]
                type $G = PointsGeneratorW<POINTS_WIDTH, $S>;
                #[allow(dead_code)]
                type $D = PointsDiscriminatorW<POINTS_WIDTH, $S>;
                #[allow(dead_code)]
                const $X: usize = 2;
                $body
            }
            (64, Arch::Small) => {
                #[allow(dead_code)]
                type $G = SmallGeneratorOf<64, $S>;
                #[allow(dead_code)]
                type $D = SmallDiscriminatorOf<64, $S>;
                #[allow(dead_code)]
                const $X: usize = 64;
                $body
            }
            (64, Arch::Seed) => {
                #[allow(dead_code)]
                type $G = SeedShapedGeneratorOf<64, $S>;
                #[allow(dead_code)]
                type $D = SeedShapedDiscriminatorOf<64, $S>;
                #[allow(dead_code)]
                const $X: usize = 64;
                $body
            }
            (784, Arch::Small) => {
                #[allow(dead_code)]
                type $G = SmallGeneratorOf<784, $S>;
                #[allow(dead_code)]
                type $D = SmallDiscriminatorOf<784, $S>;
                #[allow(dead_code)]
                const $X: usize = 784;
                $body
            }
            (784, Arch::Seed) => {
                #[allow(dead_code)]
                type $G = SeedGeneratorOf<$S>;
                #[allow(dead_code)]
                type $D = SeedDiscriminatorOf<$S>;
                #[allow(dead_code)]
                const $X: usize = 784;
                $body
            }
            (2, Arch::Tiny) => {
                #[allow(dead_code)]
                type $G = PointsGeneratorW<TINY_WIDTH, $S>;
                #[allow(dead_code)]
                type $D = PointsDiscriminatorW<TINY_WIDTH, $S>;
                #[allow(dead_code)]
                const $X: usize = 2;
                $body
            }
            (2, Arch::Micro) => {
                #[allow(dead_code)]
                type $G = PointsGeneratorW<MICRO_WIDTH, $S>;
                #[allow(dead_code)]
                type $D = PointsDiscriminatorW<MICRO_WIDTH, $S>;
                #[allow(dead_code)]
                const $X: usize = 2;
                $body
            }
            (_, Arch::Tiny | Arch::Micro) => {
                anyhow::bail!(
                    "--arch {} is a pair for 2-D points; use ring8 or grid25",
                    $arch.name()
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty directory under the system's temporary one.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("picogan-lib-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn two_stagings_of_one_file_keep_apart() {
        let dir = scratch("staging");
        let (mut a, mut b) = (Staging::new(&dir).unwrap(), Staging::new(&dir).unwrap());
        let (ta, tb) = (a.file("w.bin"), b.file("w.bin"));
        assert_ne!(ta, tb);
        std::fs::write(&ta, "a").unwrap();
        std::fs::write(&tb, "b").unwrap();
        // b fails: its file goes, a's stays and is put in place
        drop(b);
        assert_eq!(a.commit().unwrap(), [dir.join("w.bin")]);
        assert_eq!(std::fs::read_to_string(dir.join("w.bin")).unwrap(), "a");
        assert_eq!(names(&dir), ["w.bin"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_lock_per_directory() {
        let dir = scratch("lock");
        let lock = OutLock::take(&dir).unwrap();
        let err = OutLock::take(&dir).err().expect("locked twice").to_string();
        assert_eq!(
            err,
            format!("another picogan run is writing to {}", dir.display())
        );
        drop(lock);
        assert!(names(&dir).is_empty(), "{:?}", names(&dir));
        drop(OutLock::take(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_partial_files_are_removed_and_nothing_else() {
        let dir = scratch("partials");
        for name in [
            ".partial-1234.0-generator.safetensors",
            ".partial-a8Xk2q",
            "keep.png",
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.join(".partial-dir")).unwrap();
        let lock = OutLock::take(&dir).unwrap();
        lock.remove_partials();
        assert_eq!(names(&dir), [".partial-dir", LOCK_FILE, "keep.png"]);
        drop(lock);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
