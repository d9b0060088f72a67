//! What the firmware takes: flash and static RAM from a built ELF, and the memory each of
//! the core's model pairs needs to sample and to train, from the compile-time sizes of
//! their types.

use anyhow::{Context, Result};
use object::{Object, ObjectSection, SectionFlags, SectionKind};
use picogan::models::{
    MicroPointsDiscriminator, MicroPointsGenerator, PointsDiscriminator, PointsGenerator,
    SeedDiscriminator, SeedGenerator, SeedShapedDiscriminator, SeedShapedGenerator,
    SmallDiscriminator, SmallGenerator, TinyPointsDiscriminator, TinyPointsGenerator,
};
use picogan::optim::Adam;
use picogan::{Gan, Layer};
use std::path::Path;

/// Start of RAM on every board here (the Cortex-M SRAM region); code and read-only data lie
/// below it, in flash.
const RAM_START: u64 = 0x2000_0000;

/// Flash and static RAM of a firmware image, from its ELF sections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sections {
    /// Bytes in flash: vector table, code, read-only data, and the initial values of
    /// `.data`.
    pub flash: u64,
    /// Bytes of RAM taken before the stack: `.data`, `.bss` and `.uninit`.
    pub ram: u64,
}

/// Reads the loadable sections of the ELF at `path`.
pub fn sections(path: &Path) -> Result<Sections> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file = object::File::parse(&*bytes)
        .with_context(|| format!("{}: not an ELF file", path.display()))?;
    let mut s = Sections::default();
    for section in file.sections() {
        let SectionFlags::Elf { sh_flags } = section.flags() else {
            continue;
        };
        if sh_flags & u64::from(object::elf::SHF_ALLOC) == 0 || section.size() == 0 {
            continue;
        }
        if section.address() < RAM_START {
            s.flash += section.size();
        } else {
            s.ram += section.size();
            // initialised data also has its initial values stored in flash
            if section.kind() != SectionKind::UninitializedData {
                s.flash += section.size();
            }
        }
    }
    Ok(s)
}

/// RAM kept free, when sampling, for everything besides a model: the program's stack
/// frames, the log's buffers and the runtime's statics. `sample` takes 4.7 KiB of RAM
/// beyond its model's figure, most of it the weights file's check (see
/// firmware/README.md), so 8 KiB leaves room.
pub const RESERVE: usize = 8 * 1024;

/// RAM kept free, when training, for everything besides the training state: `train` takes
/// 1.8 to 2.5 KiB beyond it (see firmware/README.md), so 4 KiB leaves room.
pub const TRAIN_RESERVE: usize = 4 * 1024;

/// RAM sizes of common microcontroller parts, bytes.
pub const PARTS: [usize; 4] = [16 * 1024, 64 * 1024, 128 * 1024, 256 * 1024];

/// One model pair's memory needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelMemory {
    /// Name of the pair and its data.
    pub name: &'static str,
    /// Generator and Discriminator parameter counts.
    pub params: (usize, usize),
    /// Flash for the Generator's weights, to sample from a trained model (its weights
    /// file adds a header of a few hundred bytes).
    pub sample_flash: usize,
    /// RAM to sample: the Generator's activations, its noise input and its output (its
    /// weights are read in place from the file in flash).
    pub sample_ram: usize,
    /// RAM to train: both networks, their gradients and Adam moments, and the step's
    /// buffers: `size_of::<Gan<G, D, Adam<G>, Adam<D>>>()`.
    pub train_ram: usize,
}

impl ModelMemory {
    fn of<G, D>(name: &'static str) -> Self
    where
        G: Layer<Scalar = f32>,
        D: Layer<Scalar = f32, Input = G::Output, Output = [f32; 1]>,
    {
        use std::mem::size_of;
        ModelMemory {
            name,
            params: (G::PARAMS, D::PARAMS),
            sample_flash: size_of::<G>(),
            sample_ram: size_of::<G::Cache>() + size_of::<G::Input>() + size_of::<G::Output>(),
            train_ram: size_of::<Gan<G, D, Adam<G>, Adam<D>>>(),
        }
    }

    /// What a part with `ram` bytes of RAM can do with this pair, keeping
    /// [`TRAIN_RESERVE`] to train and [`RESERVE`] to sample.
    pub fn fits(&self, ram: usize) -> &'static str {
        if self.train_ram + TRAIN_RESERVE <= ram && self.sample_ram + RESERVE <= ram {
            "train and sample"
        } else if self.sample_ram + RESERVE <= ram {
            "sample"
        } else {
            "neither"
        }
    }
}

/// The core's model pairs, smallest first.
pub fn models() -> Vec<ModelMemory> {
    vec![
        ModelMemory::of::<MicroPointsGenerator, MicroPointsDiscriminator>(
            "micro, 2-D points (the Cortex-M0's ring8)",
        ),
        ModelMemory::of::<TinyPointsGenerator, TinyPointsDiscriminator>(
            "tiny, 2-D points (the device's ring8)",
        ),
        ModelMemory::of::<PointsGenerator, PointsDiscriminator>(
            "small, 2-D points (desktop ring8, grid25)",
        ),
        ModelMemory::of::<SmallGenerator<64>, SmallDiscriminator<64>>("small, 8×8 digits"),
        ModelMemory::of::<SeedShapedGenerator<64>, SeedShapedDiscriminator<64>>("seed, 8×8 digits"),
        ModelMemory::of::<SmallGenerator<784>, SmallDiscriminator<784>>("small, 28×28 images"),
        ModelMemory::of::<SeedGenerator, SeedDiscriminator>("seed, 28×28 images"),
    ]
}

/// The table of what fits which parts, in Markdown.
pub fn fit_table() -> String {
    let mut t = String::from(
        "| model pair | parameters G / D | sample: flash | sample: RAM | train: RAM |",
    );
    for p in PARTS {
        t.push_str(&format!(" {} KiB RAM |", p / 1024));
    }
    t.push_str("\n|---|---:|---:|---:|---:|");
    t.push_str(&"---|".repeat(PARTS.len()));
    t.push('\n');
    for m in models() {
        t.push_str(&format!(
            "| {} | {} / {} | {} | {} | {} |",
            m.name,
            crate::emulate::group(m.params.0 as u64),
            crate::emulate::group(m.params.1 as u64),
            kib(m.sample_flash),
            kib(m.sample_ram),
            kib(m.train_ram)
        ));
        for p in PARTS {
            t.push_str(&format!(" {} |", m.fits(p)));
        }
        t.push('\n');
    }
    t
}

/// Bytes in KiB with one decimal.
fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_state_is_four_copies_of_the_parameters_plus_buffers() {
        // weights, gradients and two Adam moments, 4 bytes each, for both networks; then
        // both networks' activation caches, and a few vectors and settings (under 256 B)
        let m = &models()[0];
        let params = m.params.0 + m.params.1;
        let caches = std::mem::size_of::<<MicroPointsGenerator as Layer>::Cache>()
            + std::mem::size_of::<<MicroPointsDiscriminator as Layer>::Cache>();
        assert!(m.train_ram >= 16 * params + caches, "{m:?}");
        assert!(m.train_ram < 16 * params + caches + 256, "{m:?}");
        assert_eq!(m.sample_flash, 4 * m.params.0);
    }

    #[test]
    fn the_seed_pair_trains_on_no_common_part() {
        let seed = models().into_iter().last().unwrap();
        assert_eq!(seed.fits(256 * 1024), "sample");
        assert_eq!(models()[0].fits(64 * 1024), "train and sample");
        // the micro pair trains in 16 KiB, the tiny one does not
        assert_eq!(models()[0].fits(16 * 1024), "train and sample");
        assert_eq!(models()[1].fits(16 * 1024), "sample");
    }
}
