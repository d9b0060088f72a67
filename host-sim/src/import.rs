//! `picogan import` and `picogan export`: networks trained elsewhere into a picogan
//! checkpoint, and a checkpoint's Generator into the file the firmware embeds.

use crate::same_file;
use crate::train::Arch;
use crate::weights::{self, Builder, ModelInfo};
use anyhow::{bail, ensure, Context, Result};
use picogan::safetensors::{File, LoadOptions};
use picogan::Layer;
use std::path::{Path, PathBuf};

/// The networks of a GAN.
pub const ROLES: [&str; 2] = ["generator", "discriminator"];

/// What `picogan import` is asked to do.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The safetensors file to read.
    pub from: PathBuf,
    /// The architecture its networks must have.
    pub arch: Arch,
    /// Data set, which fixes the data width; inferred from the shapes when `None`.
    pub dataset: Option<String>,
    /// For a file holding one network under plain `fc.N` names: which one it is; `None`
    /// reads the file's `role` metadata, and takes a Generator when there is none.
    pub role: Option<String>,
    /// Name prefixes to replace before matching, `(from, to)`, first match only.
    pub renames: Vec<(String, String)>,
    /// Ignore tensors the architecture does not have.
    pub allow_extra: bool,
    /// Round F64 values to the nearest f32 instead of refusing inexact ones.
    pub round_f64: bool,
    /// The checkpoint to write.
    pub out: PathBuf,
}

/// What an import found and wrote.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The data set recorded in the checkpoint.
    pub dataset: String,
    /// Each network imported, with the prefix its names had in the file.
    pub networks: Vec<(String, String)>,
    /// Dtypes of the tensors read, as the file gives them.
    pub dtypes: Vec<&'static str>,
    /// Whether the file carried a checksum (verified when it did).
    pub had_checksum: bool,
    /// The checkpoint written.
    pub out: PathBuf,
}

/// `name` after the first of `renames` whose `FROM` begins it.
fn rename(renames: &[(&str, &str)], name: &str) -> String {
    for (from, to) in renames {
        if let Some(rest) = name.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    name.to_owned()
}

/// Parses `FROM=TO`.
pub fn parse_rename(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((from, to)) if !from.is_empty() => Ok((from.into(), to.into())),
        _ => Err(format!(
            "`{s}`: a rename is FROM=TO, e.g. `net.=fc.` reads `net.0.weight` as `fc.0.weight`"
        )),
    }
}

/// Reads the networks of `opts.from`, checks every name, shape, dtype and value against
/// `opts.arch`, and writes them into a checkpoint at `opts.out`.
pub fn import(opts: &ImportOptions) -> Result<Imported> {
    let shown = opts.from.display().to_string();
    let bytes = weights::FileBytes::read(&opts.from)?;
    let file = weights::open(&bytes, &shown)?;
    let renames: Vec<(&str, &str)> = opts
        .renames
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();

    // `generator.` and `discriminator.` sections, or one network under plain names
    let names: Vec<String> = file.tensors().map(|t| rename(&renames, t.name)).collect();
    let mut sections: Vec<(String, String)> = ROLES
        .iter()
        .filter(|r| names.iter().any(|n| n.starts_with(&format!("{r}."))))
        .map(|r| (r.to_string(), format!("{r}.")))
        .collect();
    if sections.is_empty() {
        let role = opts
            .role
            .as_deref()
            .or_else(|| file.metadata("role"))
            .unwrap_or("generator");
        ensure!(
            ROLES.contains(&role),
            "{shown}: a file of one network holds a generator or a discriminator, not {role:?}"
        );
        sections.push((role.to_owned(), String::new()));
    }

    let from_metadata = opts.dataset.is_none() && file.metadata("dataset").is_some();
    let dataset = match opts
        .dataset
        .clone()
        .or_else(|| file.metadata("dataset").map(str::to_owned))
    {
        Some(d) => d,
        None => infer_dataset(&file, opts, &renames, &sections, &shown)?,
    };
    let whose = || {
        if from_metadata {
            format!(" (data set {dataset} from the file's metadata; --dataset overrides it)")
        } else {
            String::new()
        }
    };
    let width = weights::data_width(&dataset).with_context(|| {
        format!(
            "{shown}: picogan has no models for data set {dataset:?}{}: say --dataset digits, \
             idx, ring8 or grid25",
            if from_metadata {
                " (from its metadata)"
            } else {
                ""
            }
        )
    })?;

    let load = Load {
        file: &file,
        renames: &renames,
        sections: &sections,
        allow_extra: opts.allow_extra,
        round_f64: opts.round_f64,
        shown: &shown,
    };
    let mut out = Builder::new();
    let mut added = || -> Result<()> {
        crate::with_models!(width, opts.arch, |G, D, X| load.add_to::<G, D>(&mut out))
    };
    added().map_err(|e| anyhow::anyhow!("{e:#}{}", whose()))?;
    out.metadata("format", weights::FORMAT_CHECKPOINT)
        .metadata("dataset", dataset.as_str())
        .metadata("arch", opts.arch.name());
    if let Some(parent) = opts.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    ensure!(
        !same_file(&opts.out, &opts.from),
        "--out {} would overwrite the file being imported",
        opts.out.display()
    );
    let _lock = claim_target(&opts.out)?;
    weights::write_atomic(&opts.out, &out.to_bytes()?)?;

    let mut dtypes: Vec<&'static str> = file.tensors().map(|t| t.dtype.name()).collect();
    dtypes.sort_unstable();
    dtypes.dedup();
    Ok(Imported {
        dataset,
        networks: sections,
        dtypes,
        had_checksum: file.checksum().is_some(),
        out: opts.out.clone(),
    })
}

/// The data set whose models the file's networks fit; an error listing why each candidate
/// does not when none or several do.
fn infer_dataset(
    file: &File<'_>,
    opts: &ImportOptions,
    renames: &[(&str, &str)],
    sections: &[(String, String)],
    shown: &str,
) -> Result<String> {
    let load = Load {
        file,
        renames,
        sections,
        allow_extra: opts.allow_extra,
        round_f64: opts.round_f64,
        shown,
    };
    let mut fits = Vec::new();
    let mut misfits = Vec::new();
    for (dataset, what) in [
        ("digits", "8×8 digits"),
        ("idx", "28×28 images"),
        ("ring8", "2-D points"),
    ] {
        let width = weights::data_width(dataset).unwrap_or(0);
        // a closure, so that a pair that does not exist is one more misfit
        let checked = || -> Result<()> {
            crate::with_models!(width, opts.arch, |G, D, X| load.check::<G, D>())
        };
        let checked = checked();
        match checked {
            Ok(()) => fits.push((dataset, what)),
            Err(e) => misfits.push(format!("as {} for {what}: {e:#}", opts.arch.name())),
        }
    }
    match fits[..] {
        [("ring8", _)] => bail!(
            "{shown}: the networks are for 2-D points: say which mixture with --dataset ring8 \
             or --dataset grid25"
        ),
        [(dataset, _)] => Ok(dataset.into()),
        [] => {
            let mut names: Vec<String> = file.tensors().map(|t| load.renamed(t.name)).collect();
            names.sort_unstable();
            let more = if names.len() > 6 { ", …" } else { "" };
            names.truncate(6);
            let renamed = if renames.is_empty() {
                ""
            } else {
                " (after --rename)"
            };
            bail!(
                "{shown} does not hold a picogan {} pair:\n  {}\nits tensors{renamed}: {}{more}",
                opts.arch.name(),
                misfits.join("\n  "),
                names.join(", ")
            )
        }
        _ => bail!("{shown}: fits several data sets; say which with --dataset"),
    }
}

/// The option that gets past `e`, if one does; `plain` is the role a file of one network
/// under plain `fc.N` names is read as.
fn hint(e: &picogan::safetensors::Error, plain: Option<&str>) -> String {
    use picogan::safetensors::Error;
    match (e, plain) {
        (Error::UnexpectedTensor { .. }, _) => " (--allow-extra ignores it)".into(),
        (Error::Inexact { .. }, _) => " (--round-f64 rounds it)".into(),
        (Error::MissingTensor { .. }, _) => {
            " (--rename FROM=TO maps other names onto fc.N.weight and fc.N.bias)".into()
        }
        (Error::ShapeMismatch { .. }, Some(role)) => {
            let other = ROLES.iter().find(|r| **r != role).unwrap_or(&"generator");
            format!(" (plain fc.N names are read as the {role}; --role {other} reads the {other})")
        }
        _ => String::new(),
    }
}

/// The networks to read from a file and how.
struct Load<'a> {
    file: &'a File<'a>,
    renames: &'a [(&'a str, &'a str)],
    /// (role, prefix in the file)
    sections: &'a [(String, String)],
    allow_extra: bool,
    round_f64: bool,
    shown: &'a str,
}

impl Load<'_> {
    fn options<'o>(&'o self, prefix: &'o str) -> LoadOptions<'o> {
        LoadOptions {
            prefix,
            renames: self.renames,
            allow_extra: self.allow_extra,
            round_f64: self.round_f64,
        }
    }

    /// Checks every section against `G` or `D` without loading.
    fn check<G: Layer<Scalar = f32>, D: Layer>(&self) -> Result<()> {
        for (role, prefix) in self.sections {
            let opts = self.options(prefix);
            let checked = if role == "generator" {
                self.file.check::<G>(&opts)
            } else {
                self.file.check::<D>(&opts)
            };
            let plain = prefix.is_empty().then_some(role.as_str());
            checked.map_err(|e| anyhow::anyhow!("{e}{}", hint(&e, plain)))?;
        }
        if self.sections.iter().all(|(_, p)| !p.is_empty()) && !self.allow_extra {
            // tensors outside both sections are extra too
            if let Some(t) = self.file.tensors().find(|t| {
                let name = self.renamed(t.name);
                !ROLES.iter().any(|r| name.starts_with(&format!("{r}.")))
            }) {
                bail!(
                    "unexpected tensor `{}`, outside the generator and discriminator \
                     (--allow-extra ignores it)",
                    t.name
                );
            }
        }
        Ok(())
    }

    fn renamed(&self, name: &str) -> String {
        rename(self.renames, name)
    }

    /// Loads every section into a network of its type and adds it to `out` under its
    /// checkpoint name.
    #[inline(never)] // see `train::run`: the seed-sized networks are large
    fn add_to<G: Layer<Scalar = f32>, D: Layer<Scalar = f32>>(
        &self,
        out: &mut Builder,
    ) -> Result<()> {
        self.check::<G, D>()
            .map_err(|e| anyhow::anyhow!("{}: {e:#}", self.shown))?;
        for (role, prefix) in self.sections {
            let opts = self.options(prefix);
            let into = format!("{role}.");
            if role == "generator" {
                let mut g = Box::new(G::ZEROED);
                weights::load_with(&mut *g, self.file, &opts, self.shown)?;
                out.network(&into, &*g);
            } else {
                let mut d = Box::new(D::ZEROED);
                weights::load_with(&mut *d, self.file, &opts, self.shown)?;
                out.network(&into, &*d);
            }
        }
        Ok(())
    }
}

/// Locks the directory `out` is written in against training runs, and refuses to replace
/// the checkpoint of a training run, which would lose the run.
pub(crate) fn claim_target(out: &Path) -> Result<crate::OutLock> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let lock = crate::OutLock::take(dir)?;
    if let Ok(c) = crate::checkpoint::Checkpoint::read(out) {
        bail!(
            "{} is the checkpoint of a training run (step {} of {}); replacing it would lose \
             the run: choose another --out",
            out.display(),
            c.step,
            c.options.steps
        );
    }
    Ok(lock)
}

/// What `picogan export` wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    /// The model description in the file.
    pub info: ModelInfo,
    /// Bytes written.
    pub bytes: usize,
    /// The CRC-32 of the tensor data, as the file records it.
    pub crc32: u32,
}

/// Writes the Generator of a checkpoint (or of a Generator file) to `out` as the firmware
/// embeds it: f32 tensors under their `state_dict` names, the model description and the
/// data's CRC-32 in the metadata. The file is read back and checked before it replaces
/// anything at `out`.
pub fn export(from: &Path, out: &Path) -> Result<Exported> {
    let shown = from.display().to_string();
    let bytes = weights::FileBytes::read(from)?;
    let file = weights::open(&bytes, &shown)?;
    let source = weights::generator_of(&file, &shown)?;
    let (opts, info) = (source.options(), &source.info);
    let image = crate::with_models!(source.width, source.arch, |G, D, X| generator_image::<G>(
        &file, &opts, info, &shown
    ))?;
    ensure!(
        !same_file(out, from),
        "--out {} would overwrite the file being exported",
        out.display()
    );
    let crc32 =
        weights::open(&weights::FileBytes::new(&image), "the exported file")?.require_checksum()?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let _lock = claim_target(out)?;
    weights::write_atomic(out, &image)?;
    Ok(Exported {
        info: source.info.clone(),
        bytes: image.len(),
        crc32,
    })
}

#[inline(never)] // see `train::run`
fn generator_image<G: Layer<Scalar = f32>>(
    file: &File<'_>,
    opts: &LoadOptions<'_>,
    info: &ModelInfo,
    shown: &str,
) -> Result<Vec<u8>> {
    let mut g = Box::new(G::ZEROED);
    weights::load_with(&mut *g, file, opts, shown)?;
    let image = weights::to_bytes(&*g, info)?;
    // what was written is what loads back, bit for bit
    let mut back = Box::new(G::ZEROED);
    weights::load_into(&mut *back, &image, "the exported file")?;
    ensure!(
        (0..G::TENSORS).all(|i| bits(back.tensor(i)) == bits(g.tensor(i))),
        "the exported file does not load back as written"
    );
    Ok(image)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}
