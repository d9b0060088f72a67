//! Weight files and checkpoints: safetensors files with PyTorch's `state_dict` names
//! (`fc.0.weight`, `fc.0.bias`, `fc.2.weight`, …), `[out, in]` weight layout, and a CRC-32
//! of the tensor data in the metadata.
//!
//! Files are written here with the `safetensors` crate and read back with the core's own
//! reader, [`picogan::safetensors`], the one the firmware uses: what loads on the desktop
//! loads on the device, and a file is refused for the same reasons on both.

use anyhow::{bail, Context, Result};
use picogan::safetensors::{self as st, File, LoadOptions};
use picogan::Layer;
use picogan::Scalar;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The `format` metadata of a Generator or Discriminator file.
pub const FORMAT_MODEL: &str = "picogan";
/// The `format` metadata of a checkpoint.
pub const FORMAT_CHECKPOINT: &str = "picogan-checkpoint";
/// The `format` metadata of an int8 Generator (`picogan quantize`).
pub const FORMAT_INT8: &str = "picogan-int8";

/// What a weights file says about the model it holds, in its safetensors metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// Data set the model was trained on (`digits`, `ring8`, `grid25`, `idx`).
    pub dataset: String,
    /// Architecture (`small`, `seed` or `tiny`).
    pub arch: String,
    /// `generator` or `discriminator`.
    pub role: String,
}

impl ModelInfo {
    fn metadata(&self) -> [(&'static str, &str); 4] {
        [
            ("format", FORMAT_MODEL),
            ("dataset", &self.dataset),
            ("arch", &self.arch),
            ("role", &self.role),
        ]
    }
}

/// The `state_dict` name of tensor `i` of `L` under `prefix`.
pub fn tensor_name<L: Layer>(prefix: &str, i: usize) -> Option<String> {
    L::tensor_info(i).map(|t| format!("{prefix}fc.{}.{}", t.layer, t.kind.name()))
}

/// A safetensors file being put together: tensors and string metadata, written with a
/// CRC-32 of the data and a header in a fixed order, so the same content always gives the
/// same bytes.
#[derive(Default)]
pub struct Builder {
    tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
    metadata: HashMap<String, String>,
}

impl Builder {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets metadata `key` to `value`.
    pub fn metadata(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds every tensor of `net`, named `prefix` + its `state_dict` name, as F32: a
    /// network computing in another scalar has its values rounded to f32 (exactly, for
    /// Q16.16 values of magnitude below 256; see [`exact_in_f32`]).
    pub fn network<L: Layer>(&mut self, prefix: &str, net: &L) -> &mut Self {
        for i in 0..L::TENSORS {
            if let (Some(t), Some(name)) = (L::tensor_info(i), tensor_name::<L>(prefix, i)) {
                let values: Vec<f32> = net.tensor(i).iter().map(|v| v.to_f32()).collect();
                self.f32s(&name, t.shape(), &values);
            }
        }
        self
    }

    /// Adds an f32 tensor.
    pub fn f32s(&mut self, name: &str, shape: &[usize], values: &[f32]) -> &mut Self {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .insert(name.into(), (Dtype::F32, shape.to_vec(), bytes));
        self
    }

    /// Adds a tensor of any dtype from its little-endian bytes.
    pub fn raw(&mut self, name: &str, dtype: Dtype, shape: &[usize], bytes: Vec<u8>) -> &mut Self {
        self.tensors
            .insert(name.into(), (dtype, shape.to_vec(), bytes));
        self
    }

    /// Adds a one-dimensional u32 tensor.
    pub fn u32s(&mut self, name: &str, values: &[u32]) -> &mut Self {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .insert(name.into(), (Dtype::U32, vec![values.len()], bytes));
        self
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut views = BTreeMap::new();
        for (name, (dtype, shape, data)) in &self.tensors {
            views.insert(name.clone(), TensorView::new(*dtype, shape.clone(), data)?);
        }
        let file = safetensors::serialize(views, Some(self.metadata.clone()))?;
        seal(file)
    }
}

/// Adds the data's and the header's CRC-32 to a safetensors file's metadata and rewrites
/// its JSON header with the keys in sorted order.
///
/// The metadata goes through a `HashMap`, whose order changes from run to run; sorted,
/// the same model always gives the same bytes. Tensor data is not touched, and the header
/// keeps the format's padding with spaces to a multiple of 8 bytes.
pub(crate) fn seal(file: Vec<u8>) -> Result<Vec<u8>> {
    let header_len = usize::try_from(u64::from_le_bytes(file[..8].try_into()?))?;
    let data = &file[8 + header_len..];
    let mut header: serde_json::Value = serde_json::from_slice(&file[8..8 + header_len])?;
    let meta = header
        .as_object_mut()
        .context("safetensors header is not an object")?
        .entry("__metadata__")
        .or_insert_with(|| serde_json::json!({}));
    let meta = meta
        .as_object_mut()
        .context("safetensors metadata is not an object")?;
    meta.insert(
        st::CHECKSUM_KEY.into(),
        format!("{:08x}", st::checksum(data)).into(),
    );
    meta.remove(st::HEADER_CHECKSUM_KEY);
    // the header's own checksum, as the core's reader computes it on the file without it;
    // adding it moves no tensor and changes nothing else it covers
    let unsealed = assemble(&header, data)?;
    let header_crc = open(&FileBytes::new(&unsealed), "the file being written")?.header_checksum();
    header
        .as_object_mut()
        .and_then(|h| h.get_mut("__metadata__"))
        .and_then(|m| m.as_object_mut())
        .context("safetensors metadata is not an object")?
        .insert(
            st::HEADER_CHECKSUM_KEY.into(),
            format!("{header_crc:08x}").into(),
        );
    assemble(&header, data)
}

/// A safetensors file of `header`, written with its keys sorted and padded with spaces to
/// a multiple of 8 bytes, and `data`.
fn assemble(header: &serde_json::Value, data: &[u8]) -> Result<Vec<u8>> {
    let mut text = serde_json::to_vec(header)?; // serde_json's maps are sorted
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + text.len() + data.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    Ok(out)
}

/// Serialises `net` as little-endian f32 tensors with `info` in the metadata.
pub fn to_bytes<L: Layer>(net: &L, info: &ModelInfo) -> Result<Vec<u8>> {
    let mut b = Builder::new();
    b.network("", net);
    for (k, v) in info.metadata() {
        b.metadata(k, v);
    }
    b.to_bytes()
}

/// Writes `bytes` to `path` atomically: to a new file beside it, flushed to disk, then
/// renamed over it. However the write is cut short, `path` holds either what it held
/// before or all of `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, |file, bytes| file.write_all(bytes))
}

/// Where a write to `path` lands, and the permissions of the file it replaces: through
/// symbolic links (a chain of them too, even to a file not there yet) to a regular file or
/// a new one. Anything else at the end of the links is refused, as is a read-only file:
/// picogan replaces the files it writes whole.
pub fn write_target(path: &Path) -> Result<(PathBuf, Option<std::fs::Permissions>)> {
    let shown = path.display();
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&at)
                    .with_context(|| format!("cannot follow {}", at.display()))?;
                at = at.parent().unwrap_or(Path::new("")).join(target);
            }
            Ok(m) if !m.is_file() => bail!(
                "{shown} is not a regular file: picogan replaces the files it writes whole, \
                 so it writes only regular files"
            ),
            Ok(m) if m.permissions().readonly() => bail!("{shown} is read-only"),
            Ok(m) => return Ok((at, Some(m.permissions()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((at, None)),
            Err(e) => return Err(e).with_context(|| format!("cannot write {shown}")),
        }
    }
    bail!("{shown}: too many levels of symbolic links")
}

/// [`write_atomic`], with `put` handing the bytes to the new file. A `put` that fails
/// part-way is a write interrupted there: the error is returned, the new file removed,
/// and `path` left as it was.
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    put: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> Result<()> {
    let shown = path.display();
    let (path, old) = write_target(path)?;
    let path = &path;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = || format!("cannot write {shown}");
    let mut builder = tempfile::Builder::new();
    builder.prefix(".partial-");
    // readable as any file the user writes (0666 less the umask), not only by its owner
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).with_context(fail)?;
    put(tmp.as_file_mut(), bytes).with_context(fail)?;
    if let Some(permissions) = old {
        // a file replaced keeps its permissions
        tmp.as_file()
            .set_permissions(permissions)
            .with_context(fail)?;
    }
    tmp.as_file().sync_all().with_context(fail)?;
    tmp.persist(path).map_err(|e| e.error).with_context(fail)?;
    // the rename itself reaches the disk with the directory; where a directory cannot be
    // opened as a file, the rename stands all the same
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `net` to `path` atomically (see [`write_atomic`]).
pub fn save<L: Layer>(net: &L, info: &ModelInfo, path: &Path) -> Result<()> {
    write_atomic(path, &to_bytes(net, info)?)
}

/// The largest weights file read: 1 GiB, 20 times the largest network pair's checkpoint.
pub const MAX_FILE: u64 = 1 << 30;

/// A safetensors file's bytes, placed in memory so that its data section starts at a
/// multiple of 8: every tensor is then aligned for its dtype as the core's reader requires,
/// even in a file whose writer did not pad its header to 8 bytes.
pub struct FileBytes {
    words: Vec<u64>,
    shift: usize,
    len: usize,
}

impl FileBytes {
    /// Reads the file at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let fail = || format!("cannot read {}", path.display());
        let meta = std::fs::metadata(path).with_context(fail)?;
        if !meta.is_file() {
            bail!("{} is not a regular file", path.display());
        }
        if meta.len() > MAX_FILE {
            bail!(
                "{} is {} bytes; picogan reads weights files of at most {MAX_FILE}",
                path.display(),
                meta.len()
            );
        }
        let raw = std::fs::read(path).with_context(fail)?;
        Ok(Self::new(&raw))
    }

    /// A copy of `raw`, placed.
    pub fn new(raw: &[u8]) -> Self {
        // where the data would start, for a header length that lies inside the file
        let data_start = raw
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| n.checked_add(8))
            .filter(|&start| start <= raw.len())
            .unwrap_or(0);
        let shift = (8 - data_start % 8) % 8;
        let mut words = vec![0u64; (shift + raw.len()).div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[shift..shift + raw.len()]
            .copy_from_slice(raw);
        FileBytes {
            words,
            shift,
            len: raw.len(),
        }
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(&self.words)[self.shift..self.shift + self.len]
    }
}

/// Checks the layout and checksum of the safetensors file in `bytes` (see
/// [`picogan::safetensors::File::parse`]); errors start with `shown`. Bytes from
/// [`FileBytes`] are aligned as the reader needs.
pub fn open<'a>(bytes: &'a [u8], shown: &str) -> Result<File<'a>> {
    let file = File::parse(bytes).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    Ok(file)
}

/// Metadata `key` of `file`, or an error saying the file lacks it.
pub fn required(file: &File<'_>, key: &str, shown: &str) -> Result<String> {
    file.metadata(key).map(str::to_owned).with_context(|| {
        format!(
            "{shown}: no `{key}` in its metadata, so not a file picogan wrote; bring networks \
             from elsewhere in with `picogan import`"
        )
    })
}

/// Reads the model description of a Generator or Discriminator file.
pub fn read_info(file: &File<'_>, shown: &str) -> Result<ModelInfo> {
    let format = required(file, "format", shown)?;
    if format == FORMAT_CHECKPOINT {
        bail!("{shown} is a checkpoint, not a Generator or Discriminator file");
    }
    Ok(ModelInfo {
        dataset: required(file, "dataset", shown)?,
        arch: required(file, "arch", shown)?,
        role: required(file, "role", shown)?,
    })
}

/// The model description of the network `role` (`generator` or `discriminator`) in a
/// Generator or Discriminator file or in a checkpoint, and the prefix of its tensor names
/// there.
pub fn network_of(file: &File<'_>, role: &str, shown: &str) -> Result<(ModelInfo, String)> {
    if required(file, "format", shown)? != FORMAT_CHECKPOINT {
        let info = read_info(file, shown)?;
        if info.role != role {
            bail!("{shown} holds a {}, not a {role}", info.role);
        }
        return Ok((info, String::new()));
    }
    let prefix = format!("{role}.");
    if !file.tensors().any(|t| t.name.starts_with(&prefix)) {
        bail!("{shown}: the checkpoint holds no {role}");
    }
    let info = ModelInfo {
        dataset: required(file, "dataset", shown)?,
        arch: required(file, "arch", shown)?,
        role: role.into(),
    };
    Ok((info, prefix))
}

/// The data width of the models for a data set, by its name in a file's metadata.
pub fn data_width(dataset: &str) -> Option<usize> {
    match dataset {
        "digits" => Some(64),
        "idx" => Some(784),
        "ring8" | "grid25" => Some(2),
        _ => None,
    }
}

/// Where a file keeps its Generator and which network type reads it.
pub struct GeneratorSource {
    /// The model description.
    pub info: ModelInfo,
    /// The prefix of its tensor names in the file.
    pub prefix: String,
    /// Its architecture.
    pub arch: crate::train::Arch,
    /// Its data width.
    pub width: usize,
}

impl GeneratorSource {
    /// How to load it: under its prefix, nothing left over.
    pub fn options(&self) -> LoadOptions<'_> {
        LoadOptions {
            prefix: &self.prefix,
            ..LoadOptions::STRICT
        }
    }
}

/// The Generator of a Generator file or a checkpoint (see [`network_of`]).
pub fn generator_of(file: &File<'_>, shown: &str) -> Result<GeneratorSource> {
    if file.metadata("format") == Some(FORMAT_INT8) {
        bail!(
            "{shown} is an int8 Generator (from `picogan quantize`); this needs the f32 \
             Generator or checkpoint it was quantized from"
        );
    }
    let (info, prefix) = network_of(file, "generator", shown)?;
    let (arch, width) = arch_and_width(&info, shown)?;
    Ok(GeneratorSource {
        info,
        prefix,
        arch,
        width,
    })
}

/// The architecture and data width a model description names.
pub fn arch_and_width(info: &ModelInfo, shown: &str) -> Result<(crate::train::Arch, usize)> {
    use crate::train::Arch;
    let arch = match info.arch.as_str() {
        "small" => Arch::Small,
        "seed" => Arch::Seed,
        "tiny" => Arch::Tiny,
        "micro" => Arch::Micro,
        other => bail!("{shown}: unknown architecture {other:?}"),
    };
    let width = data_width(&info.dataset)
        .with_context(|| format!("{shown}: unknown data set {:?}", info.dataset))?;
    Ok((arch, width))
}

/// True when every parameter of `net` is an f32 exactly, so that a file of F32 tensors
/// holds it without loss: always for f32 networks, for Q16.16 ones when every magnitude is
/// below 256.
pub fn exact_in_f32<L: Layer>(net: &L) -> bool {
    (0..L::TENSORS).all(|i| {
        net.tensor(i)
            .iter()
            .all(|&v| L::Scalar::from_f32(v.to_f32()) == v)
    })
}

/// Loads `net` from `file` with `opts`: every name, dtype, shape and value is checked
/// before `net` is touched, so on any error `net` is left as it was.
pub fn load_with<L: Layer>(
    net: &mut L,
    file: &File<'_>,
    opts: &LoadOptions<'_>,
    shown: &str,
) -> Result<()> {
    file.load_into(net, opts)
        .map_err(|e| anyhow::anyhow!("{shown}: {e}"))
}

/// Loads every tensor of `L` from the Generator or Discriminator file in `bytes`, with
/// the names as they are and nothing left over.
pub fn load_into<L: Layer>(net: &mut L, bytes: &[u8], shown: &str) -> Result<()> {
    let bytes = FileBytes::new(bytes);
    let file = open(&bytes, shown)?;
    load_with(net, &file, &LoadOptions::STRICT, shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use picogan::models::{SmallDiscriminator, SmallGenerator};
    use picogan::Init;

    fn info() -> ModelInfo {
        ModelInfo {
            dataset: "digits".into(),
            arch: "small".into(),
            role: "generator".into(),
        }
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let mut g = SmallGenerator::<64>::ZEROED;
        g.init(Init::PyTorchDefault, &mut crate::rng(1));
        let bytes = to_bytes(&g, &info()).unwrap();
        let mut back = SmallGenerator::<64>::ZEROED;
        load_into(&mut back, &bytes, "test").unwrap();
        assert_eq!(back, g);
        let file = open(&bytes, "test").unwrap();
        assert_eq!(read_info(&file, "test").unwrap(), info());
        assert!(file.checksum().is_some());
    }

    #[test]
    fn the_same_model_gives_the_same_bytes() {
        // Metadata passes through a randomly ordered map; many writes must still agree.
        let g = SmallGenerator::<64>::ZEROED;
        let first = to_bytes(&g, &info()).unwrap();
        assert!((0..20).all(|_| to_bytes(&g, &info()).unwrap() == first));
        assert_eq!(u64::from_le_bytes(first[..8].try_into().unwrap()) % 8, 0);
    }

    #[test]
    fn files_without_header_padding_are_placed_for_reading_in_place() {
        // the same tensors behind a header one space shorter than the format's padding
        let mut g = SmallGenerator::<64>::ZEROED;
        g.init(Init::PyTorchDefault, &mut crate::rng(3));
        let padded = to_bytes(&g, &info()).unwrap();
        let header_len = u64::from_le_bytes(padded[..8].try_into().unwrap()) as usize;
        assert_eq!(padded[8 + header_len - 1], b' ', "padded with spaces");
        let mut unpadded = (header_len as u64 - 1).to_le_bytes().to_vec();
        unpadded.extend_from_slice(&padded[8..8 + header_len - 1]);
        unpadded.extend_from_slice(&padded[8 + header_len..]);
        let mut back = SmallGenerator::<64>::ZEROED;
        load_into(&mut back, &unpadded, "unpadded").unwrap();
        assert_eq!(back, g);
        // placed, every tensor of the data section is aligned to 8
        let placed = FileBytes::new(&unpadded);
        assert_eq!((placed.as_ptr() as usize + 8 + header_len - 1) % 8, 0);
    }

    #[test]
    fn an_edited_header_is_refused() {
        let mut g = SmallGenerator::<64>::ZEROED;
        g.init(Init::PyTorchDefault, &mut crate::rng(4));
        let bytes = to_bytes(&g, &info()).unwrap();
        assert!(open(&FileBytes::new(&bytes), "good").is_ok());
        let edit = |from: &[u8], to: &[u8]| {
            let mut edited = bytes.clone();
            let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
            edited[at..at + to.len()].copy_from_slice(to);
            open(&FileBytes::new(&edited), "edited")
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        // one letter of a metadata value, the header's length kept
        let err = edit(b"\"digits\"", b"\"dig1ts\"");
        assert!(err.contains("header checksum mismatch"), "{err}");
        // two biases of the same shape trade names: the data and its checksum are untouched
        let mut swapped = bytes.clone();
        let a = bytes
            .windows(11)
            .position(|w| w == b"\"fc.0.bias\"")
            .unwrap();
        let b = bytes
            .windows(11)
            .position(|w| w == b"\"fc.2.bias\"")
            .unwrap();
        swapped[a + 4] = b'2';
        swapped[b + 4] = b'0';
        let err = open(&FileBytes::new(&swapped), "swapped")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("header checksum mismatch"), "{err}");
        // and a file whose header checksum field itself was damaged is refused too
        let err = edit(b"header_crc32\":\"", b"header_crc32\":\"g");
        assert!(err.contains("not 8 hexadecimal digits"), "{err}");
    }

    #[test]
    fn writes_replace_regular_files_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("w.safetensors");
        write_atomic(&file, b"one").unwrap();
        // an existing file keeps its permissions
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&file, b"two").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (std::fs::read(&file).unwrap(), mode),
            (b"two".to_vec(), 0o640)
        );
        // a link is written through, and stays a link
        let link = dir.path().join("link.safetensors");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_atomic(&link, b"three").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&file).unwrap(), b"three");
        // a directory, a device and a read-only file are left alone
        let err = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let err = write_atomic(Path::new("/dev/null"), b"x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
        if !std::fs::metadata(&file).unwrap().permissions().readonly() {
            return;
        }
        let err = write_atomic(&file, b"four").unwrap_err().to_string();
        assert!(err.contains("read-only"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"three");
    }

    #[test]
    fn links_are_followed_to_their_end_and_loops_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // l1 -> l2 -> missing.safetensors: the file at the end of the chain is created
        std::os::unix::fs::symlink("l2", d.join("l1")).unwrap();
        std::os::unix::fs::symlink("missing.safetensors", d.join("l2")).unwrap();
        write_atomic(&d.join("l1"), b"end").unwrap();
        assert_eq!(
            std::fs::read(d.join("missing.safetensors")).unwrap(),
            b"end"
        );
        assert!(std::fs::symlink_metadata(d.join("l2"))
            .unwrap()
            .file_type()
            .is_symlink());
        // a -> b -> a
        std::os::unix::fs::symlink("b", d.join("a")).unwrap();
        std::os::unix::fs::symlink("a", d.join("b")).unwrap();
        let err = write_atomic(&d.join("a"), b"x").unwrap_err().to_string();
        assert!(err.contains("too many levels"), "{err}");
        assert!(std::fs::symlink_metadata(d.join("b"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn non_finite_weights_are_refused() {
        let mut g = SmallGenerator::<64>::ZEROED;
        g.1 .1 .0.b[3] = f32::NAN;
        let bytes = to_bytes(&g, &info()).unwrap();
        let mut target = SmallGenerator::<64>::ZEROED;
        let err = load_into(&mut target, &bytes, "nan")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`fc.2.bias`") && err.contains("element 3"),
            "{err}"
        );
    }

    #[test]
    fn wrong_model_is_refused_and_leaves_the_target_untouched() {
        let mut g = SmallGenerator::<64>::ZEROED;
        g.init(Init::PyTorchDefault, &mut crate::rng(1));
        let bytes = to_bytes(&g, &info()).unwrap();
        let mut d = SmallDiscriminator::<64>::ZEROED;
        d.init(Init::PyTorchDefault, &mut crate::rng(2));
        let before = d;
        let err = load_into(&mut d, &bytes, "g.safetensors")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fc.0.weight") && err.contains("shape"),
            "{err}"
        );
        assert_eq!(d, before);
        let err = load_into(&mut d, &bytes[..bytes.len() - 1], "cut")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cut:"), "{err}");
    }
}
