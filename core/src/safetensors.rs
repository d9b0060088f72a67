//! Safetensors files, read in place: from a flash image, a memory-mapped file or a byte
//! buffer, without a heap and without copying the tensor data.
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header, and the
//! tensor data. The header maps each tensor name to its dtype, shape and byte range in the
//! data, and may hold string metadata under `__metadata__`:
//!
//! ```text
//! [u64 n] {"fc.0.weight":{"dtype":"F32","shape":[64,16],"data_offsets":[0,4096]}, …,
//!          "__metadata__":{"crc32":"1a2b3c4d", …}} [data]
//! ```
//!
//! [`File::parse`] checks the whole layout before anything is read from it: the header
//! lies inside the buffer and is well-formed JSON of that shape; every dtype is known and
//! every shape matches its byte range; the byte ranges lie inside the data, do not overlap
//! and cover it without gaps; every tensor is aligned in memory for its dtype, so that its
//! data can be viewed as values in place ([`Tensor::as_f32`], [`Tensor::as_i8`],
//! [`Tensor::as_i32`]); and, when the metadata holds a [`CHECKSUM_KEY`], the CRC-32 of the
//! data matches it. [`File::load_into`] then checks a network's tensors by name, shape and
//! value before it writes any of them, so a bad file leaves the network exactly as it was.
//! [`File::view`] runs an f32 network and [`File::view_quantized`] an int8 one in place.
//!
//! That checksum covers the data only. Damage to the header is caught when it breaks the
//! layout (a changed shape, dtype or offset, a broken brace); when it leaves a consistent
//! header behind (a changed digit in a tensor name or a metadata value), by the second
//! checksum, [`HEADER_CHECKSUM_KEY`], over everything else the header says
//! ([`File::header_checksum`]).
//!
//! Every failure is a distinct [`Error`] naming the tensor or field at fault. Names are the
//! raw JSON strings of the header: a name written with escape sequences keeps them.
//!
//! Memory: a [`File`] holds a table of up to [`MAX_TENSORS`] entries by default (about
//! 3 KiB on a 32-bit target, 5 KiB on a 64-bit one); [`File::parse_with_capacity`] sizes
//! it for files of fewer tensors, such as a Generator in flash. The table lives wherever
//! the `File` does, usually on its caller's stack.

// Errors hold the names they report inline (no heap), which makes them large; they are
// returned once per failed load, never in a loop.
#![allow(clippy::result_large_err)]

use crate::quant::{QLayer, QNet, QTensorInfo};
use crate::{Layer, TensorInfo};
use core::fmt::{self, Write as _};
use crc::{Crc, CRC_32_ISO_HDLC};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;

/// Most tensors a file may hold.
pub const MAX_TENSORS: usize = 64;

/// Most dimensions a tensor may have.
pub const MAX_RANK: usize = 6;

/// The metadata key holding the CRC-32 of the data section, as 8 lowercase hex digits.
pub const CHECKSUM_KEY: &str = "crc32";

/// The metadata key holding the CRC-32 of the rest of the header, as 8 hex digits (see
/// [`File::header_checksum`]).
pub const HEADER_CHECKSUM_KEY: &str = "header_crc32";

/// The checksum: CRC-32/ISO-HDLC, the CRC of zlib, PNG and Python's `zlib.crc32`.
pub const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// A checksum written as 8 hex digits.
fn hex32(v: &str) -> Option<u32> {
    let hex = v.len() == 8 && v.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| u32::from_str_radix(v, 16).ok()).flatten()
}

/// The checksum of a data section, as [`CHECKSUM_KEY`] records it.
pub fn checksum(data: &[u8]) -> u32 {
    CRC32.checksum(data)
}

/// A tensor name or other text from a file, kept in an error (cut to 48 bytes, which keeps
/// [`Error`] small enough to return by value on a microcontroller).
pub type Name = heapless::String<48, u8>;

/// A tensor name a network is looked up under: a prefix and its own name.
type FullName = heapless::String<128>;

fn name(s: &str) -> Name {
    let mut out = Name::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            // cut: end with an ellipsis, so that the name is not taken for a whole one
            while out.len() + '…'.len_utf8() > out.capacity() {
                out.pop();
            }
            let _ = out.push('…');
            break;
        }
    }
    out
}

/// The element types of safetensors. Sub-byte float formats are not supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Dtype {
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    F8E8M0,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64,
}

impl Dtype {
    const ALL: [Dtype; 16] = [
        Dtype::Bool,
        Dtype::U8,
        Dtype::I8,
        Dtype::F8E5M2,
        Dtype::F8E4M3,
        Dtype::F8E8M0,
        Dtype::I16,
        Dtype::U16,
        Dtype::F16,
        Dtype::BF16,
        Dtype::I32,
        Dtype::U32,
        Dtype::F32,
        Dtype::I64,
        Dtype::U64,
        Dtype::F64,
    ];

    /// The name the header uses (`"F32"`, `"BF16"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "BOOL",
            Dtype::U8 => "U8",
            Dtype::I8 => "I8",
            Dtype::F8E5M2 => "F8_E5M2",
            Dtype::F8E4M3 => "F8_E4M3",
            Dtype::F8E8M0 => "F8_E8M0",
            Dtype::I16 => "I16",
            Dtype::U16 => "U16",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::I32 => "I32",
            Dtype::U32 => "U32",
            Dtype::F32 => "F32",
            Dtype::I64 => "I64",
            Dtype::U64 => "U64",
            Dtype::F64 => "F64",
        }
    }

    /// The dtype a header name stands for.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == s)
    }

    /// Bytes per element, which is also the alignment its data needs.
    pub fn size(self) -> usize {
        match self {
            Dtype::Bool | Dtype::U8 | Dtype::I8 => 1,
            Dtype::F8E5M2 | Dtype::F8E4M3 | Dtype::F8E8M0 => 1,
            Dtype::I16 | Dtype::U16 | Dtype::F16 | Dtype::BF16 => 2,
            Dtype::I32 | Dtype::U32 | Dtype::F32 => 4,
            Dtype::I64 | Dtype::U64 | Dtype::F64 => 8,
        }
    }
}

/// A tensor's dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    rank: u8,
    dims: [u32; MAX_RANK],
}

impl Shape {
    /// The shape with these dimensions; `None` beyond [`MAX_RANK`] of them or for a
    /// dimension of 2³² or more.
    pub fn new(dims: &[usize]) -> Option<Self> {
        let mut s = Shape {
            rank: u8::try_from(dims.len()).ok()?,
            dims: [0; MAX_RANK],
        };
        for (d, &n) in s.dims.get_mut(..dims.len())?.iter_mut().zip(dims) {
            *d = u32::try_from(n).ok()?;
        }
        Some(s)
    }

    /// The dimensions.
    pub fn dims(&self) -> &[u32] {
        &self.dims[..usize::from(self.rank)]
    }

    /// Number of elements; `None` when it overflows.
    pub fn numel(&self) -> Option<usize> {
        self.dims()
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_char(']')
    }
}

/// Why a file was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The file is shorter than the 8 bytes that give the header's length.
    Truncated {
        /// Bytes in the file.
        len: usize,
    },
    /// The header's stated length runs past the end of the file.
    HeaderPastEnd {
        /// The stated length.
        header_len: u64,
        /// Bytes after the length field.
        available: usize,
    },
    /// The header is not JSON of the safetensors layout.
    HeaderJson(serde_json_core::de::Error),
    /// A tensor entry lacks a field, has one twice, or has one the format does not define.
    BadEntry {
        /// The tensor.
        tensor: Name,
        /// What is wrong.
        reason: &'static str,
    },
    /// The `__metadata__` entry is not an object of strings.
    BadMetadata,
    /// More tensors than the reader's table holds ([`MAX_TENSORS`] unless parsed with
    /// [`File::parse_with_capacity`]).
    TooManyTensors {
        /// The most the table holds.
        max: usize,
    },
    /// The same tensor name appears twice.
    DuplicateTensor {
        /// The name.
        tensor: Name,
    },
    /// A dtype this reader does not know.
    UnknownDtype {
        /// The tensor.
        tensor: Name,
        /// The dtype as written.
        dtype: Name,
    },
    /// More dimensions than [`MAX_RANK`], or an element count that overflows.
    BadShape {
        /// The tensor.
        tensor: Name,
    },
    /// A tensor's byte range is not what its shape and dtype need.
    SizeMismatch {
        /// The tensor.
        tensor: Name,
        /// Bytes its shape and dtype need.
        expected: u64,
        /// Bytes its offsets give it.
        found: u64,
    },
    /// A tensor's byte range ends before it starts or past the end of the data.
    OffsetsOutOfRange {
        /// The tensor.
        tensor: Name,
        /// The range as written.
        offsets: [u64; 2],
        /// Bytes of data in the file.
        data_len: usize,
    },
    /// Two tensors' byte ranges overlap.
    OffsetsOverlap {
        /// One tensor.
        tensor: Name,
        /// The other.
        other: Name,
    },
    /// Bytes of the data section that no tensor covers.
    DataNotCovered {
        /// Offset of the first such byte in the data section.
        at: usize,
        /// Bytes of data in the file.
        data_len: usize,
    },
    /// A tensor's data is not aligned in memory for its dtype, so it cannot be viewed in
    /// place. The header must be padded so that the data starts at a multiple of 8 bytes,
    /// and the buffer must be aligned to 8.
    Misaligned {
        /// The tensor.
        tensor: Name,
        /// The alignment its dtype needs.
        align: usize,
    },
    /// The [`CHECKSUM_KEY`] metadata is not 8 hex digits.
    BadChecksumField {
        /// The value as written.
        value: Name,
    },
    /// The data's CRC-32 differs from the one the metadata records: the file is corrupted.
    ChecksumMismatch {
        /// Recorded in the metadata.
        stored: u32,
        /// Computed over the data.
        computed: u32,
    },
    /// A checksum is required and the metadata has none.
    MissingChecksum,
    /// The [`HEADER_CHECKSUM_KEY`] metadata is not 8 hex digits.
    BadHeaderChecksumField {
        /// The value as written.
        value: Name,
    },
    /// The header's CRC-32 differs from the one its metadata records: a tensor's name,
    /// dtype, shape or place, or a metadata value, was changed or damaged.
    HeaderChecksumMismatch {
        /// Recorded in the metadata.
        stored: u32,
        /// Computed over the header.
        computed: u32,
    },
    /// A header checksum is required and the metadata has none.
    MissingHeaderChecksum,
    /// A tensor the network needs is not in the file.
    MissingTensor {
        /// The name it was looked for under.
        tensor: Name,
    },
    /// A tensor in the file that the network does not have.
    UnexpectedTensor {
        /// The name in the file.
        tensor: Name,
    },
    /// A tensor's shape differs from the network's.
    ShapeMismatch {
        /// The tensor.
        tensor: Name,
        /// The network's shape.
        expected: Shape,
        /// The file's shape.
        found: Shape,
    },
    /// A tensor whose dtype cannot become f32 (integers, booleans, 8-bit floats).
    UnsupportedDtype {
        /// The tensor.
        tensor: Name,
        /// Its dtype.
        dtype: Dtype,
    },
    /// An f64 value that f32 cannot hold exactly, when rounding was not allowed.
    Inexact {
        /// The tensor.
        tensor: Name,
        /// Row-major index of the value.
        index: usize,
    },
    /// A tensor that cannot be used in place because it is not F32.
    NotInPlace {
        /// The tensor.
        tensor: Name,
        /// Its dtype.
        dtype: Dtype,
    },
    /// A NaN or infinite value, or a finite f64 too large for f32.
    NonFinite {
        /// The tensor.
        tensor: Name,
        /// Row-major index of the value.
        index: usize,
    },
    /// A name built from a prefix and the network's tensor names is longer than 128 bytes.
    NameTooLong,
    /// A tensor of an int8 network in another dtype than the network keeps it in.
    DtypeMismatch {
        /// The tensor.
        tensor: Name,
        /// The network's dtype.
        expected: Dtype,
        /// The file's dtype.
        found: Dtype,
    },
    /// A value of an int8 network out of its range, or a layer whose input parameters
    /// differ from the output parameters of the layer before (see [`crate::quant::Fault`]).
    BadQuantization {
        /// The tensor, or the layer (`fc.1`) for a stage without tensors.
        tensor: Name,
        /// Row-major index of the value.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { len } => write!(
                f,
                "truncated: {len} bytes, fewer than the 8 that give the header's length"
            ),
            Error::HeaderPastEnd {
                header_len,
                available,
            } => write!(
                f,
                "header length {header_len} runs past the end of the file ({available} bytes \
                 follow it): truncated or not a safetensors file"
            ),
            Error::HeaderJson(e) => write!(f, "malformed header JSON: {e}"),
            Error::BadEntry { tensor, reason } => write!(f, "tensor `{tensor}`: {reason}"),
            Error::BadMetadata => f.write_str("`__metadata__` is not an object of strings"),
            Error::TooManyTensors { max } => write!(
                f,
                "more than {max} tensors, the most this reader's table holds"
            ),
            Error::DuplicateTensor { tensor } => write!(
                f,
                "tensor `{tensor}` appears twice, in the file or once renamed onto another"
            ),
            Error::UnknownDtype { tensor, dtype } => {
                write!(f, "tensor `{tensor}` has unknown dtype `{dtype}`")
            }
            Error::BadShape { tensor } => write!(
                f,
                "tensor `{tensor}` has more than {MAX_RANK} dimensions or too many elements"
            ),
            Error::SizeMismatch {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "tensor `{tensor}` needs {expected} bytes for its shape and dtype, but its \
                 offsets give {found}"
            ),
            Error::OffsetsOutOfRange {
                tensor,
                offsets,
                data_len,
            } => write!(
                f,
                "tensor `{tensor}` has data offsets [{}, {}] outside the {data_len} bytes of \
                 data: the file is truncated or its header is wrong",
                offsets[0], offsets[1]
            ),
            Error::OffsetsOverlap { tensor, other } => {
                write!(f, "tensors `{tensor}` and `{other}` overlap in the data")
            }
            Error::DataNotCovered { at, data_len } => {
                write!(f, "data bytes from {at} of {data_len} belong to no tensor")
            }
            Error::Misaligned { tensor, align } => write!(
                f,
                "tensor `{tensor}` is not aligned to {align} bytes in memory, so it cannot be \
                 read in place"
            ),
            Error::BadChecksumField { value } => write!(
                f,
                "metadata `{CHECKSUM_KEY}` is `{value}`, not 8 hexadecimal digits"
            ),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: the data's CRC-32 is {computed:08x}, the metadata records \
                 {stored:08x}: the file is corrupted"
            ),
            Error::MissingChecksum => write!(f, "no `{CHECKSUM_KEY}` checksum in the metadata"),
            Error::BadHeaderChecksumField { value } => write!(
                f,
                "metadata `{HEADER_CHECKSUM_KEY}` is `{value}`, not 8 hexadecimal digits"
            ),
            Error::HeaderChecksumMismatch { stored, computed } => write!(
                f,
                "header checksum mismatch: the header's CRC-32 is {computed:08x}, its metadata \
                 records {stored:08x}: a tensor's name, shape or place or a metadata value was \
                 changed or damaged"
            ),
            Error::MissingHeaderChecksum => {
                write!(f, "no `{HEADER_CHECKSUM_KEY}` checksum in the metadata")
            }
            Error::MissingTensor { tensor } => write!(f, "missing tensor `{tensor}`"),
            Error::UnexpectedTensor { tensor } => {
                write!(
                    f,
                    "unexpected tensor `{tensor}`, which the network does not have"
                )
            }
            Error::ShapeMismatch {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "tensor `{tensor}` has shape {found}, expected {expected}"
            ),
            Error::UnsupportedDtype { tensor, dtype } => write!(
                f,
                "tensor `{tensor}` is {}, which does not convert to f32 (F32, F16, BF16 and F64 \
                 do)",
                dtype.name()
            ),
            Error::Inexact { tensor, index } => write!(
                f,
                "tensor `{tensor}` is F64 and element {index} is not exactly an f32; allow \
                 rounding to load it"
            ),
            Error::NonFinite { tensor, index } => write!(
                f,
                "tensor `{tensor}` holds a NaN, infinite or out-of-range value at element {index}"
            ),
            Error::NotInPlace { tensor, dtype } => write!(
                f,
                "tensor `{tensor}` is {}; only F32 tensors are used in place",
                dtype.name()
            ),
            Error::NameTooLong => write!(f, "a tensor name is longer than 128 bytes"),
            Error::DtypeMismatch {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "tensor `{tensor}` is {}, expected {} for an int8 network",
                found.name(),
                expected.name()
            ),
            Error::BadQuantization {
                tensor,
                index,
                reason,
            } => write!(f, "`{tensor}`, element {index}: {reason}"),
        }
    }
}

impl core::error::Error for Error {}

/// One tensor of a [`File`]: its name, dtype, shape and data, borrowed from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tensor<'a> {
    /// The name, as written in the header.
    pub name: &'a str,
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions.
    pub shape: Shape,
    /// The data, little-endian, aligned in memory to `dtype.size()`.
    pub data: &'a [u8],
}

impl<'a> Tensor<'a> {
    /// The data as f32 values in place, without copying: `None` unless the dtype is F32.
    /// Only on little-endian targets, where the file's byte order is the native one.
    #[cfg(target_endian = "little")]
    pub fn as_f32(&self) -> Option<&'a [f32]> {
        match self.dtype {
            // `File::parse` checked the alignment, so the cast cannot fail
            Dtype::F32 => bytemuck::try_cast_slice(self.data).ok(),
            _ => None,
        }
    }

    /// The data as int8 values in place: `None` unless the dtype is I8.
    pub fn as_i8(&self) -> Option<&'a [i8]> {
        match self.dtype {
            Dtype::I8 => Some(bytemuck::cast_slice(self.data)),
            _ => None,
        }
    }

    /// The data as int32 values in place, without copying: `None` unless the dtype is I32,
    /// and on big-endian targets, where the file's byte order is not the native one.
    pub fn as_i32(&self) -> Option<&'a [i32]> {
        match self.dtype {
            // `File::parse` checked the alignment, so the cast cannot fail
            Dtype::I32 if cfg!(target_endian = "little") => {
                bytemuck::try_cast_slice(self.data).ok()
            }
            _ => None,
        }
    }

    /// Element `k` widened or rounded to f32; `None` for dtypes that do not convert or `k`
    /// out of range. F16 and BF16 widen exactly; F64 rounds to the nearest f32 (ties to
    /// even), saturating to infinity beyond f32's range.
    pub fn value(&self, k: usize) -> Option<f32> {
        let size = self.dtype.size();
        let b = self.data.get(k.checked_mul(size)?..)?.get(..size)?;
        Some(match self.dtype {
            Dtype::F32 => f32::from_le_bytes(b.try_into().ok()?),
            Dtype::F16 => half::f16::from_le_bytes(b.try_into().ok()?).to_f32(),
            Dtype::BF16 => half::bf16::from_le_bytes(b.try_into().ok()?).to_f32(),
            Dtype::F64 => f64::from_le_bytes(b.try_into().ok()?) as f32,
            _ => return None,
        })
    }

    /// True when element `k` is an F64 that f32 holds exactly (always true for the other
    /// float dtypes).
    fn exact(&self, k: usize) -> bool {
        if self.dtype != Dtype::F64 {
            return true;
        }
        let b = self
            .data
            .get(k * 8..k * 8 + 8)
            .and_then(|b| b.try_into().ok());
        b.map(f64::from_le_bytes)
            .is_some_and(|x| f64::from(x as f32) == x)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// How [`File::load_into`] finds and converts a network's tensors.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions<'o> {
    /// Prepended to the network's own names: `"generator."` finds `fc.0.weight` as
    /// `generator.fc.0.weight`. Tensors of the file outside the prefix are left alone.
    pub prefix: &'o str,
    /// Renames applied to the file's names before they are matched, first match only:
    /// `("net.", "fc.")` reads `net.0.weight` as `fc.0.weight`.
    pub renames: &'o [(&'o str, &'o str)],
    /// Ignore tensors under the prefix that the network does not have, instead of
    /// refusing the file.
    pub allow_extra: bool,
    /// Round F64 values to the nearest f32 instead of refusing values that f32 cannot hold
    /// exactly.
    pub round_f64: bool,
}

impl LoadOptions<'_> {
    /// The network's names as they are, extra tensors refused, F64 only when exact.
    pub const STRICT: LoadOptions<'static> = LoadOptions {
        prefix: "",
        renames: &[],
        allow_extra: false,
        round_f64: false,
    };
}

impl<'o> LoadOptions<'o> {
    /// The name `file_name` is matched under, as `(head, tail)` of the rename's target and
    /// the rest of the name.
    fn mapped<'n>(&self, file_name: &'n str) -> (&'o str, &'n str) {
        for &(from, to) in self.renames {
            if let Some(rest) = file_name.strip_prefix(from) {
                return (to, rest);
            }
        }
        ("", file_name)
    }

    /// True when `file_name`, renamed, is `want`.
    fn matches(&self, file_name: &str, want: &str) -> bool {
        let (head, tail) = self.mapped(file_name);
        want.strip_prefix(head) == Some(tail)
    }

    /// True when `file_name`, renamed, lies under the prefix.
    fn under_prefix(&self, file_name: &str) -> bool {
        let (head, tail) = self.mapped(file_name);
        let p = self.prefix;
        if head.len() >= p.len() {
            head.starts_with(p)
        } else {
            p.strip_prefix(head)
                .is_some_and(|rest| tail.starts_with(rest))
        }
    }
}

/// The name of tensor `info` of a network: PyTorch's `state_dict` name for a module that
/// holds the network as an `nn.Sequential` in a field `fc` (`fc.0.weight`, `fc.2.bias`).
fn tensor_name(prefix: &str, info: TensorInfo) -> Result<FullName, Error> {
    let mut out = FullName::new();
    write!(out, "{prefix}fc.{}.{}", info.layer, info.kind.name())
        .map_err(|_| Error::NameTooLong)?;
    Ok(out)
}

/// The name of tensor `info` of an int8 network: `fc.{layer}.{kind}`.
fn quantized_name(info: Option<QTensorInfo>) -> Result<FullName, Error> {
    let info = info.ok_or(Error::NameTooLong)?;
    let mut out = FullName::new();
    write!(out, "fc.{}.{}", info.layer, info.kind.name()).map_err(|_| Error::NameTooLong)?;
    Ok(out)
}

/// A network's parameter tensors, as the checks see them.
#[derive(Clone, Copy)]
struct Tensors {
    count: usize,
    info: fn(usize) -> Option<TensorInfo>,
}

impl Tensors {
    fn of<L: Layer>() -> Self {
        Tensors {
            count: L::TENSORS,
            info: L::tensor_info,
        }
    }
}

/// A network whose weights are borrowed from a [`File`] (see [`File::view`]).
pub struct Borrowed<'a, L: Layer> {
    view: L::View<'a>,
}

impl<L: Layer> Clone for Borrowed<'_, L> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L: Layer> Copy for Borrowed<'_, L> {}

impl<L: Layer> Borrowed<'_, L> {
    /// [`Layer::forward`] on the borrowed weights.
    pub fn forward(&self, x: &L::Input, y: &mut L::Output, cache: &mut L::Cache) {
        L::forward_view(&self.view, x, y, cache);
    }

    /// [`Layer::infer`] on the borrowed weights.
    pub fn infer(&self, x: &L::Input, y: &mut L::Output) {
        let mut cache = L::CACHE;
        self.forward(x, y, &mut cache);
    }
}

/// A tensor's place in the file, as the header gives it.
#[derive(Clone, Copy, Debug)]
struct Entry<'a> {
    name: &'a str,
    dtype: Dtype,
    shape: Shape,
    start: usize,
    end: usize,
}

/// A checked safetensors file in a byte buffer.
#[derive(Debug)]
pub struct File<'a, const N: usize = MAX_TENSORS> {
    bytes: &'a [u8],
    header: &'a [u8],
    data_start: usize,
    entries: heapless::Vec<Entry<'a>, N>,
    checksum: Option<u32>,
    header_checksum: Option<u32>,
}

impl<'a> File<'a> {
    /// Checks the layout of the file in `bytes` (see the [module documentation](self)),
    /// and its checksum when it has one.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with_capacity(bytes)
    }
}

impl<'a, const N: usize> File<'a, N> {
    /// [`File::parse`] with room for at most `N` tensors.
    pub fn parse_with_capacity(bytes: &'a [u8]) -> Result<Self, Error> {
        let len_field: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Truncated { len: bytes.len() })?;
        let header_len = u64::from_le_bytes(len_field);
        let available = bytes.len() - 8;
        let header = usize::try_from(header_len)
            .ok()
            .and_then(|n| bytes.get(8..8usize.checked_add(n)?))
            .ok_or(Error::HeaderPastEnd {
                header_len,
                available,
            })?;
        let data_start = 8 + header.len();
        let data_len = bytes.len() - data_start;

        // built in place: the table is the bulk of a `File`
        let mut file = File {
            bytes,
            header,
            data_start,
            entries: heapless::Vec::new(),
            checksum: None,
            header_checksum: None,
        };
        let entries = &mut file.entries;
        let mut stored_crc = None;
        let mut stored_header_crc = None;
        read_header(header, &mut |item| {
            match item {
                Item::Tensor(e) => {
                    if entries.iter().any(|o: &Entry<'_>| o.name == e.name) {
                        return Err(Error::DuplicateTensor {
                            tensor: name(e.name),
                        });
                    }
                    let entry = e.check(data_len)?;
                    entries
                        .push(entry)
                        .map_err(|_| Error::TooManyTensors { max: N })?;
                }
                Item::Metadata(k, v) if k == CHECKSUM_KEY => {
                    stored_crc = Some(hex32(v).ok_or(Error::BadChecksumField { value: name(v) })?);
                }
                Item::Metadata(k, v) if k == HEADER_CHECKSUM_KEY => {
                    let bad = || Error::BadHeaderChecksumField { value: name(v) };
                    stored_header_crc = Some(hex32(v).ok_or_else(bad)?);
                }
                Item::Metadata(..) => {}
            }
            Ok(())
        })?;

        // the byte ranges, in order, must tile the data exactly
        // by insertion: the table is small, and the library's sorts take kilobytes of flash
        for i in 1..entries.len() {
            let mut j = i;
            while j > 0
                && (entries[j - 1].start, entries[j - 1].end) > (entries[j].start, entries[j].end)
            {
                entries.swap(j - 1, j);
                j -= 1;
            }
        }
        let mut covered = 0;
        for (i, e) in entries.iter().enumerate() {
            if e.start > covered {
                return Err(Error::DataNotCovered {
                    at: covered,
                    data_len,
                });
            }
            if e.start < covered {
                let other = entries[..i].iter().rev().find(|o| o.end > e.start);
                return Err(Error::OffsetsOverlap {
                    tensor: name(e.name),
                    other: name(other.map_or("", |o| o.name)),
                });
            }
            covered = e.end;
        }
        if covered < data_len {
            return Err(Error::DataNotCovered {
                at: covered,
                data_len,
            });
        }

        let base = bytes.as_ptr() as usize + data_start;
        if let Some(e) = entries
            .iter()
            .find(|e| !(base + e.start).is_multiple_of(e.dtype.size()))
        {
            return Err(Error::Misaligned {
                tensor: name(e.name),
                align: e.dtype.size(),
            });
        }

        file.checksum = stored_crc;
        if let Some(stored) = stored_crc {
            let computed = checksum(file.data());
            if computed != stored {
                return Err(Error::ChecksumMismatch { stored, computed });
            }
        }
        file.header_checksum = stored_header_crc;
        if let Some(stored) = stored_header_crc {
            let computed = file.header_checksum();
            if computed != stored {
                return Err(Error::HeaderChecksumMismatch { stored, computed });
            }
        }
        Ok(file)
    }

    /// The CRC-32 of the header as read, its two checksums left out: every tensor's name,
    /// dtype, dimensions and data offsets, in the order of their data, then every metadata
    /// key and value in the header's order, each string followed by a zero byte and each
    /// number as little-endian bytes. [`HEADER_CHECKSUM_KEY`] records it, so that a header
    /// changed in a way that still reads (two names swapped, a value edited) is refused as
    /// a changed data section is.
    pub fn header_checksum(&self) -> u32 {
        let mut digest = CRC32.digest();
        for e in &self.entries {
            for text in [e.name, e.dtype.name()] {
                digest.update(text.as_bytes());
                digest.update(&[0]);
            }
            for d in e.shape.dims() {
                digest.update(&d.to_le_bytes());
            }
            digest.update(&[0]);
            digest.update(&(e.start as u64).to_le_bytes());
            digest.update(&(e.end as u64).to_le_bytes());
        }
        self.for_each_metadata(|k, v| {
            if k != CHECKSUM_KEY && k != HEADER_CHECKSUM_KEY {
                for text in [k, v] {
                    digest.update(text.as_bytes());
                    digest.update(&[0]);
                }
            }
        });
        digest.finalize()
    }

    /// The data section: every tensor's bytes, after the header.
    pub fn data(&self) -> &'a [u8] {
        &self.bytes[self.data_start..]
    }

    /// The verified checksum of the data, or `None` when the file records none.
    pub fn checksum(&self) -> Option<u32> {
        self.checksum
    }

    /// The verified checksum of the data; [`Error::MissingChecksum`] when the file records
    /// none. For images that must not be trusted without one, such as a flash image.
    pub fn require_checksum(&self) -> Result<u32, Error> {
        self.checksum.ok_or(Error::MissingChecksum)
    }

    /// The verified header checksum; [`Error::MissingHeaderChecksum`] when the file records
    /// none.
    pub fn require_header_checksum(&self) -> Result<u32, Error> {
        self.header_checksum.ok_or(Error::MissingHeaderChecksum)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the file holds no tensors.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tensors, in the order of their data.
    pub fn tensors(&self) -> impl Iterator<Item = Tensor<'a>> + '_ {
        self.entries.iter().map(|e| self.tensor_at(e))
    }

    /// The tensor called `name`.
    pub fn tensor(&self, name: &str) -> Option<Tensor<'a>> {
        self.tensors().find(|t| t.name == name)
    }

    fn tensor_at(&self, e: &Entry<'a>) -> Tensor<'a> {
        Tensor {
            name: e.name,
            dtype: e.dtype,
            shape: e.shape,
            data: &self.data()[e.start..e.end],
        }
    }

    /// Hands every metadata pair to `f`, as written in the header (escape sequences kept),
    /// in the header's order.
    pub fn for_each_metadata(&self, mut f: impl FnMut(&'a str, &'a str)) {
        // `parse` read this header without error, so reading it again cannot fail
        let _ = read_header(self.header, &mut |item| {
            if let Item::Metadata(k, v) = item {
                f(k, v);
            }
            Ok(())
        });
    }

    /// The metadata value under `key`, as written in the header (escape sequences kept).
    pub fn metadata(&self, key: &str) -> Option<&'a str> {
        let mut found = None;
        // `parse` read this header without error, so reading it again cannot fail
        let _ = read_header(self.header, &mut |item| {
            if let Item::Metadata(k, v) = item {
                if k == key {
                    found = Some(v);
                }
            }
            Ok(())
        });
        found
    }

    /// Copies the tensors of `net` from the file: tensor `i` under the name
    /// `opts.prefix` + [`tensor_name`], after `opts.renames`.
    ///
    /// F32 values load as they are; F16 and BF16 widen exactly; F64 values load when f32
    /// holds them exactly, or rounded to nearest (ties to even) with `opts.round_f64`.
    /// Everything is checked first: every tensor is present with the network's shape and
    /// a dtype that converts, every value is finite, and no tensor under the prefix is left
    /// over (unless `opts.allow_extra`). On any error `net` is untouched.
    ///
    /// A network computing in another [`Scalar`](crate::Scalar) than f32 gets each value
    /// rounded to nearest; a value outside its range is refused as
    /// [`Error::NonFinite`].
    pub fn load_into<L: Layer>(&self, net: &mut L, opts: &LoadOptions<'_>) -> Result<(), Error> {
        let tensors = Tensors::of::<L>();
        self.check_tensors(tensors, opts)?;
        let limit = <L::Scalar as crate::Scalar>::LIMIT;
        for i in 0..L::TENSORS {
            let t = self.find(tensors, i, opts)?;
            let mut values = (0..net.tensor(i).len()).map(|k| t.value(k).unwrap_or(0.0));
            if let Some(index) = values.position(|v| v.abs() >= limit) {
                return Err(Error::NonFinite {
                    tensor: name(t.name),
                    index,
                });
            }
        }
        for i in 0..L::TENSORS {
            let t = self.find(tensors, i, opts)?;
            for (k, v) in net.tensor_mut(i).iter_mut().enumerate() {
                // `check_tensors` read every one of these values
                *v = crate::Scalar::from_f32(t.value(k).unwrap_or(0.0));
            }
        }
        Ok(())
    }

    /// Everything [`File::load_into`] checks, without loading.
    pub fn check<L: Layer>(&self, opts: &LoadOptions<'_>) -> Result<(), Error> {
        self.check_tensors(Tensors::of::<L>(), opts)
    }

    /// The weights of `L` in place, without copying them: a network that runs forward
    /// straight from the file's bytes (a flash image, say), computing exactly what `L`
    /// loaded with [`File::load_into`] computes.
    ///
    /// Checks what [`File::load_into`] checks; every tensor must also be F32, since other
    /// dtypes cannot be used without converting them ([`Error::NotInPlace`]). Only on
    /// little-endian targets, where the file's byte order is the native one.
    #[cfg(target_endian = "little")]
    pub fn view<L: Layer<Scalar = f32>>(
        &self,
        opts: &LoadOptions<'_>,
    ) -> Result<Borrowed<'a, L>, Error> {
        let tensors = Tensors::of::<L>();
        self.check_in_place(tensors, opts)?;
        let mut found = (0..L::TENSORS)
            .filter_map(|i| self.find(tensors, i, opts).ok())
            .filter_map(|t| t.as_f32());
        // every tensor was found, is F32 and has the network's shape, so this succeeds
        let view = L::view(&mut found).ok_or(Error::BadShape {
            tensor: Name::new(),
        })?;
        Ok(Borrowed { view })
    }

    /// An int8 network in place ([`crate::quant::network`]): its weights, biases and
    /// tables read straight from the file's bytes, checked and ready to run.
    ///
    /// Tensor `i` of `Q` is looked for under `fc.{layer}.{kind}`
    /// ([`crate::quant::QTensorInfo`]). Every one must be present with its dtype and shape,
    /// no other tensor may be in the file, and every value must be in range with each layer's
    /// input parameters those of the output before it ([`crate::quant::QLayer::check`]).
    /// Nothing is read before all of that holds. The checksums are not required here; a
    /// caller that must not run an unchecked image calls [`File::require_checksum`] and
    /// [`File::require_header_checksum`], as for f32 networks.
    pub fn view_quantized<Q: QLayer>(&self) -> Result<QNet<'a, Q>, Error> {
        for i in 0..Q::TENSORS {
            self.quantized_tensor(Q::tensor_info(i))?;
        }
        for t in self.tensors() {
            let mut ours = false;
            for i in 0..Q::TENSORS {
                ours |= quantized_name(Q::tensor_info(i))?.as_str() == t.name;
            }
            if !ours {
                return Err(Error::UnexpectedTensor {
                    tensor: name(t.name),
                });
            }
        }
        let mut found =
            (0..Q::TENSORS).filter_map(|i| self.quantized_tensor(Q::tensor_info(i)).ok());
        // every tensor was found with its dtype and shape, so this succeeds
        let view = Q::view(&mut found).ok_or(Error::BadShape {
            tensor: Name::new(),
        })?;
        QNet::new(view).map_err(|f| {
            let mut at = FullName::new();
            let _ = write!(at, "fc.{}", f.layer);
            if let Some(kind) = f.kind {
                let _ = write!(at, ".{}", kind.name());
            }
            Error::BadQuantization {
                tensor: name(&at),
                index: f.index,
                reason: f.reason,
            }
        })
    }

    /// The tensor `info` describes, of its dtype and shape.
    fn quantized_tensor(&self, info: Option<QTensorInfo>) -> Result<Tensor<'a>, Error> {
        let info = info.ok_or(Error::NameTooLong)?;
        let want = quantized_name(Some(info))?;
        let t = self.tensor(&want).ok_or(Error::MissingTensor {
            tensor: name(&want),
        })?;
        let expected = Shape::new(info.shape()).ok_or(Error::BadShape {
            tensor: name(t.name),
        })?;
        if t.shape != expected {
            return Err(Error::ShapeMismatch {
                tensor: name(t.name),
                expected,
                found: t.shape,
            });
        }
        if t.dtype != info.kind.dtype() {
            return Err(Error::DtypeMismatch {
                tensor: name(t.name),
                expected: info.kind.dtype(),
                found: t.dtype,
            });
        }
        Ok(t)
    }

    // The checks are written once for all networks, not once per network type: on a
    // microcontroller every copy costs flash.

    /// [`File::check`], and every tensor F32.
    fn check_in_place(&self, tensors: Tensors, opts: &LoadOptions<'_>) -> Result<(), Error> {
        self.check_tensors(tensors, opts)?;
        for i in 0..tensors.count {
            let t = self.find(tensors, i, opts)?;
            if t.dtype != Dtype::F32 {
                return Err(Error::NotInPlace {
                    tensor: name(t.name),
                    dtype: t.dtype,
                });
            }
        }
        Ok(())
    }

    /// [`File::check`] for a network's tensors.
    fn check_tensors(&self, tensors: Tensors, opts: &LoadOptions<'_>) -> Result<(), Error> {
        for i in 0..tensors.count {
            let t = self.find(tensors, i, opts)?;
            let info = (tensors.info)(i).ok_or(Error::NameTooLong)?;
            let tensor = || name(t.name);
            let expected = Shape::new(info.shape()).ok_or(Error::BadShape { tensor: tensor() })?;
            if t.shape != expected {
                return Err(Error::ShapeMismatch {
                    tensor: tensor(),
                    expected,
                    found: t.shape,
                });
            }
            if !matches!(t.dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16 | Dtype::F64) {
                return Err(Error::UnsupportedDtype {
                    tensor: tensor(),
                    dtype: t.dtype,
                });
            }
            for k in 0..t.len() {
                if !t.value(k).is_some_and(f32::is_finite) {
                    return Err(Error::NonFinite {
                        tensor: tensor(),
                        index: k,
                    });
                }
                if !opts.round_f64 && !t.exact(k) {
                    return Err(Error::Inexact {
                        tensor: tensor(),
                        index: k,
                    });
                }
            }
        }
        if !opts.allow_extra {
            for t in self.tensors() {
                if !opts.under_prefix(t.name) {
                    continue;
                }
                let mut ours = false;
                for i in 0..tensors.count {
                    let info = (tensors.info)(i).ok_or(Error::NameTooLong)?;
                    ours |= opts.matches(t.name, &tensor_name(opts.prefix, info)?);
                }
                if !ours {
                    return Err(Error::UnexpectedTensor {
                        tensor: name(t.name),
                    });
                }
            }
        }
        Ok(())
    }

    /// Tensor `i` of a network in the file; [`Error::DuplicateTensor`] when, after the renames,
    /// two tensors of the file have its name.
    fn find(
        &self,
        tensors: Tensors,
        i: usize,
        opts: &LoadOptions<'_>,
    ) -> Result<Tensor<'a>, Error> {
        let info = (tensors.info)(i).ok_or(Error::NameTooLong)?;
        let want = tensor_name(opts.prefix, info)?;
        let mut found = self.tensors().filter(|t| opts.matches(t.name, &want));
        let t = found.next();
        if let Some(other) = found.next() {
            return Err(Error::DuplicateTensor {
                tensor: name(other.name),
            });
        }
        t.ok_or(Error::MissingTensor {
            tensor: name(&want),
        })
    }
}

// --- the header ---------------------------------------------------------------------------

/// What the header reader hands out, entry by entry.
enum Item<'a> {
    Tensor(RawEntry<'a>),
    Metadata(&'a str, &'a str),
}

/// A tensor entry as written, before its ranges are checked against the data.
struct RawEntry<'a> {
    name: &'a str,
    dtype: &'a str,
    shape: Dims,
    offsets: [u64; 2],
}

impl<'a> RawEntry<'a> {
    fn check(self, data_len: usize) -> Result<Entry<'a>, Error> {
        let tensor = || name(self.name);
        let dtype = Dtype::from_name(self.dtype).ok_or_else(|| Error::UnknownDtype {
            tensor: tensor(),
            dtype: name(self.dtype),
        })?;
        if self.shape.too_many {
            return Err(Error::BadShape { tensor: tensor() });
        }
        let mut dims = [0usize; MAX_RANK];
        for (d, &s) in dims.iter_mut().zip(&self.shape.dims) {
            *d = usize::try_from(s).map_err(|_| Error::BadShape { tensor: tensor() })?;
        }
        let shape = Shape::new(&dims[..self.shape.dims.len()])
            .ok_or(Error::BadShape { tensor: tensor() })?;
        let [start, end] = self.offsets;
        let out_of_range = Error::OffsetsOutOfRange {
            tensor: tensor(),
            offsets: self.offsets,
            data_len,
        };
        if start > end || end > data_len as u64 {
            return Err(out_of_range);
        }
        let bytes = shape
            .numel()
            .and_then(|n| n.checked_mul(dtype.size()))
            .ok_or(Error::BadShape { tensor: tensor() })?;
        if bytes as u64 != end - start {
            return Err(Error::SizeMismatch {
                tensor: tensor(),
                expected: bytes as u64,
                found: end - start,
            });
        }
        Ok(Entry {
            name: self.name,
            dtype,
            shape,
            start: start as usize,
            end: end as usize,
        })
    }
}

/// Parses `header`, handing each tensor entry and metadata pair to `sink`. A typed error
/// from `sink` is returned as it is; a tensor entry of the wrong form as
/// [`Error::BadEntry`]; other errors of the JSON as [`Error::HeaderJson`].
fn read_header<'a>(
    header: &'a [u8],
    sink: &mut dyn FnMut(Item<'a>) -> Result<(), Error>,
) -> Result<(), Error> {
    use serde_json_core::de::Error as Json;
    let mut failure = None;
    let mut current = None;
    let mut de = serde_json_core::de::Deserializer::new(header, None);
    let seed = HeaderSeed {
        sink,
        failure: &mut failure,
        current: &mut current,
    };
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    match (failure, result) {
        (Some(e), _) => Err(e),
        // a negative or fractional integer is an `InvalidNumber`, and a fixed-length list
        // with too many items ends in `TrailingCharacters`
        (
            None,
            Err(
                Json::CustomError
                | Json::InvalidType
                | Json::InvalidNumber
                | Json::TrailingCharacters,
            ),
        ) if current.is_some() => Err(Error::BadEntry {
            tensor: name(current.unwrap_or_default()),
            reason: "expected `dtype` (a string), `shape` (integers) and \
                         `data_offsets` (2 integers), and nothing else",
        }),
        (None, Err(e)) => Err(Error::HeaderJson(e)),
        (None, Ok(_)) => Ok(()),
    }
}

/// Reads the top-level object; the first typed error is kept in `failure`, and the name of
/// the tensor entry being read in `current`.
struct HeaderSeed<'s, 'a> {
    sink: &'s mut dyn FnMut(Item<'a>) -> Result<(), Error>,
    failure: &'s mut Option<Error>,
    current: &'s mut Option<&'a str>,
}

impl<'s, 'a> HeaderSeed<'s, 'a> {
    fn fail<E: de::Error>(&mut self, e: Error) -> E {
        *self.failure = Some(e);
        E::custom("")
    }
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for HeaderSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for HeaderSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a safetensors header")
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<(), M::Error> {
        let mut seen_metadata = false;
        while let Some(key) = map.next_key::<&'de str>()? {
            if key == "__metadata__" {
                if seen_metadata {
                    return Err(self.fail(Error::BadMetadata));
                }
                seen_metadata = true;
                let mut pairs = MetadataSeed {
                    sink: &mut *self.sink,
                    failure: None,
                };
                let outcome = map.next_value_seed(&mut pairs);
                if let Some(e) = pairs.failure {
                    return Err(self.fail(e));
                }
                if outcome.is_err() {
                    return Err(self.fail(Error::BadMetadata));
                }
            } else {
                *self.current = Some(key);
                let raw: EntryFields<'de> = map.next_value()?;
                *self.current = None;
                let entry = match raw.complete(key) {
                    Ok(e) => e,
                    Err(e) => return Err(self.fail(e)),
                };
                if let Err(e) = (self.sink)(Item::Tensor(entry)) {
                    return Err(self.fail(e));
                }
            }
        }
        Ok(())
    }
}

/// The fields of a tensor entry, each optional so that a missing one is named.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFields<'a> {
    #[serde(borrow)]
    dtype: Option<&'a str>,
    shape: Option<Dims>,
    data_offsets: Option<[u64; 2]>,
}

impl<'a> EntryFields<'a> {
    fn complete(self, key: &'a str) -> Result<RawEntry<'a>, Error> {
        let missing = |field| Error::BadEntry {
            tensor: name(key),
            reason: field,
        };
        Ok(RawEntry {
            name: key,
            dtype: self.dtype.ok_or(missing("no `dtype`"))?,
            shape: self.shape.ok_or(missing("no `shape`"))?,
            offsets: self.data_offsets.ok_or(missing("no `data_offsets`"))?,
        })
    }
}

/// A shape as written: its first [`MAX_RANK`] dimensions, and whether it has more, which
/// [`RawEntry::check`] refuses as [`Error::BadShape`].
#[derive(Default)]
struct Dims {
    dims: heapless::Vec<u64, MAX_RANK>,
    too_many: bool,
}

impl<'de> Deserialize<'de> for Dims {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(Dims::default())
    }
}

impl<'de> Visitor<'de> for Dims {
    type Value = Dims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of dimensions")
    }

    fn visit_seq<S: de::SeqAccess<'de>>(mut self, mut seq: S) -> Result<Dims, S::Error> {
        while let Some(d) = seq.next_element()? {
            self.too_many |= self.dims.push(d).is_err();
        }
        Ok(self)
    }
}

/// Reads the `__metadata__` object, handing each pair on.
struct MetadataSeed<'s, 'a> {
    sink: &'s mut dyn FnMut(Item<'a>) -> Result<(), Error>,
    failure: Option<Error>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for &mut MetadataSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for &mut MetadataSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of strings")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(k) = map.next_key::<&'de str>()? {
            let v = map.next_value::<&'de str>()?;
            if let Err(e) = (self.sink)(Item::Metadata(k, v)) {
                self.failure = Some(e);
                return Err(de::Error::custom(""));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::models::TinyPointsGenerator;
    use crate::Linear;
    use serde_json_core::de::Error as Json;
    use std::string::String;
    use std::vec::Vec;
    use std::{format, vec};

    /// `"name":{…}`, one tensor entry of a header.
    fn entry(name: &str, dtype: &str, shape: &[u64], offsets: [u64; 2]) -> String {
        format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":{offsets:?}}}"#)
    }

    /// A header holding `entries`.
    fn header(entries: &[String]) -> String {
        format!("{{{}}}", entries.join(","))
    }

    fn le<const N: usize, T: Copy>(values: &[T], to_le: fn(T) -> [u8; N]) -> Vec<u8> {
        values.iter().flat_map(|&v| to_le(v)).collect()
    }

    /// A file image in 8-aligned memory, as a flash image or a memory map is.
    struct Image {
        words: Vec<u64>,
        len: usize,
    }

    impl Image {
        /// The header length, `header` padded with spaces to a multiple of 8, then `data`.
        fn new(header: &str, data: &[u8]) -> Self {
            let padded = header.len().next_multiple_of(8);
            let mut bytes = (padded as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(header.as_bytes());
            bytes.resize(8 + padded, b' ');
            bytes.extend_from_slice(data);
            Self::raw(&bytes)
        }

        fn raw(bytes: &[u8]) -> Self {
            let mut words = vec![0u64; bytes.len().div_ceil(8)];
            bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
            Image {
                words,
                len: bytes.len(),
            }
        }

        fn bytes(&self) -> &[u8] {
            &bytemuck::cast_slice(&self.words)[..self.len]
        }

        fn bytes_mut(&mut self) -> &mut [u8] {
            &mut bytemuck::cast_slice_mut(&mut self.words)[..self.len]
        }

        fn parse(&self) -> Result<File<'_>, Error> {
            File::parse(self.bytes())
        }
    }

    /// Every tensor of `net` as F32 under `prefix`, with `metadata` (JSON pairs) if any.
    fn save<L: Layer<Scalar = f32>>(net: &L, prefix: &str, metadata: &str) -> Image {
        let mut entries = vec![format!(r#""__metadata__":{{{metadata}}}"#)];
        let mut data = Vec::new();
        for i in 0..L::TENSORS {
            let info = L::tensor_info(i).unwrap();
            let shape: Vec<u64> = info.shape().iter().map(|&d| d as u64).collect();
            let start = data.len() as u64;
            data.extend(le(net.tensor(i), f32::to_le_bytes));
            let name = tensor_name(prefix, info).unwrap();
            entries.push(entry(&name, "F32", &shape, [start, data.len() as u64]));
        }
        Image::new(&header(&entries), &data)
    }

    fn name(s: &str) -> Name {
        super::name(s)
    }

    /// The network every load below starts from; no file below holds any of its values.
    const NET: Linear<3, 2> = Linear {
        w: [[-7.0; 3]; 2],
        b: [-7.0; 2],
    };

    /// `fc.0.weight` as F32 `[[1, 2, 3], [4, 5, 6]]`, then `fc.0.bias` as given.
    fn linear(dtype: &str, shape: &[u64], bias: &[u8]) -> Image {
        let w = le(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], f32::to_le_bytes);
        let end = 24 + bias.len() as u64;
        let h = header(&[
            entry("fc.0.weight", "F32", &[2, 3], [0, 24]),
            entry("fc.0.bias", dtype, shape, [24, end]),
        ]);
        Image::new(&h, &[w, bias.to_vec()].concat())
    }

    /// Loads `img` into a copy of [`NET`]; a failed load must leave the copy as it was.
    /// The weight comes first in the file and is valid, so a load that wrote before it
    /// checked everything would show here.
    fn load(img: &Image, opts: &LoadOptions<'_>) -> Result<Linear<3, 2>, Error> {
        let file = img.parse().unwrap();
        let mut net = NET;
        let result = file.load_into(&mut net, opts);
        if result.is_err() {
            assert_eq!(net, NET, "a failed load changed the network");
        }
        result.map(|()| net)
    }

    #[test]
    fn loads_linear() {
        let img = linear("F32", &[2], &le(&[0.5f32, -0.25], f32::to_le_bytes));
        let net = load(&img, &LoadOptions::STRICT).unwrap();
        assert_eq!(net.w, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!(net.b, [0.5, -0.25]);
    }

    #[test]
    fn truncated() {
        assert_eq!(File::parse(&[]).unwrap_err(), Error::Truncated { len: 0 });
        let seven = [8, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            File::parse(&seven).unwrap_err(),
            Error::Truncated { len: 7 }
        );
    }

    #[test]
    fn header_past_end() {
        // the last two lengths do not fit a 32-bit usize, the last not even 8 + it in 64 bits
        for header_len in [17, 1 << 40, u64::MAX] {
            let mut bytes = header_len.to_le_bytes().to_vec();
            bytes.extend_from_slice(b"{}      {}      ");
            let err = Image::raw(&bytes).parse().unwrap_err();
            assert_eq!(
                err,
                Error::HeaderPastEnd {
                    header_len,
                    available: 16
                }
            );
        }
    }

    #[test]
    fn header_json() {
        let cases = [
            (r#"{"fc.0.weight":"#, Json::EofWhileParsingValue),
            (
                r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"#,
                Json::EofWhileParsingObject,
            ),
            ("{} x", Json::TrailingCharacters),
            (
                r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}]"#,
                Json::TrailingCharacters,
            ),
            ("{}{}", Json::TrailingCharacters),
            ("[]", Json::InvalidType),
            ("", Json::EofWhileParsingValue),
        ];
        for (h, json) in cases {
            assert_eq!(
                Image::new(h, &[]).parse().unwrap_err(),
                Error::HeaderJson(json),
                "{h}"
            );
        }
    }

    #[test]
    fn bad_entry_missing_field() {
        let cases = [
            (r#"{"w":{"dtype":"F32","shape":[1]}}"#, "no `data_offsets`"),
            (r#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, "no `dtype`"),
            (
                r#"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#,
                "no `shape`",
            ),
        ];
        for (h, reason) in cases {
            let err = Image::new(h, &[0; 4]).parse().unwrap_err();
            assert_eq!(
                err,
                Error::BadEntry {
                    tensor: name("w"),
                    reason
                },
                "{h}"
            );
        }
    }

    #[test]
    fn bad_entry_wrong_form() {
        for h in [
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[]}}"#,
            r#"{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            r#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}"#,
            r#"{"w":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}"#,
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
            r#"{"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#,
            r#"{"w":"F32"}"#,
        ] {
            let err = Image::new(h, &[0; 4]).parse().unwrap_err();
            assert!(
                matches!(&err, Error::BadEntry { tensor, .. } if tensor == "w"),
                "{h}: {err:?}"
            );
        }
    }

    #[test]
    fn bad_metadata() {
        for h in [
            r#"{"__metadata__":{"a":1}}"#,
            r#"{"__metadata__":["a"]}"#,
            r#"{"__metadata__":{},"__metadata__":{}}"#,
        ] {
            assert_eq!(
                Image::new(h, &[]).parse().unwrap_err(),
                Error::BadMetadata,
                "{h}"
            );
        }
    }

    #[test]
    fn too_many_tensors() {
        let empty = |n: usize| -> Vec<String> {
            (0..n)
                .map(|i| entry(&format!("t{i}"), "U8", &[0], [0, 0]))
                .collect()
        };
        let full = Image::new(&header(&empty(MAX_TENSORS)), &[]);
        assert_eq!(full.parse().unwrap().len(), MAX_TENSORS);
        let over = Image::new(&header(&empty(MAX_TENSORS + 1)), &[]);
        assert_eq!(
            over.parse().unwrap_err(),
            Error::TooManyTensors { max: MAX_TENSORS }
        );
    }

    #[test]
    fn duplicate_tensor() {
        let h = header(&[
            entry("a", "U8", &[2], [0, 2]),
            entry("a", "U8", &[2], [2, 4]),
        ]);
        let err = Image::new(&h, &[0; 4]).parse().unwrap_err();
        assert_eq!(err, Error::DuplicateTensor { tensor: name("a") });
    }

    #[test]
    fn unknown_dtype() {
        for dtype in ["F4", "f32", "Q8_0", ""] {
            let h = header(&[entry("a", dtype, &[1], [0, 4])]);
            let err = Image::new(&h, &[0; 4]).parse().unwrap_err();
            let expected = Error::UnknownDtype {
                tensor: name("a"),
                dtype: name(dtype),
            };
            assert_eq!(err, expected);
        }
    }

    #[test]
    fn bad_shape() {
        // 2^32 · 2^32 elements overflow a 64-bit usize
        let h = header(&[entry("big", "U8", &[1 << 32, 1 << 32], [0, 0])]);
        let err = Image::new(&h, &[]).parse().unwrap_err();
        assert_eq!(
            err,
            Error::BadShape {
                tensor: name("big")
            }
        );

        let h = header(&[entry("deep", "U8", &[1; MAX_RANK + 1], [0, 1])]);
        let err = Image::new(&h, &[0]).parse().unwrap_err();
        assert_eq!(
            err,
            Error::BadShape {
                tensor: name("deep")
            }
        );

        let h = header(&[entry("deep", "U8", &[1; MAX_RANK], [0, 1])]);
        assert_eq!(
            Image::new(&h, &[0])
                .parse()
                .unwrap()
                .tensor("deep")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn size_mismatch() {
        let h = header(&[entry("a", "F32", &[2], [0, 4])]);
        let err = Image::new(&h, &[0; 4]).parse().unwrap_err();
        let expected = Error::SizeMismatch {
            tensor: name("a"),
            expected: 8,
            found: 4,
        };
        assert_eq!(err, expected);
    }

    #[test]
    fn offsets_out_of_range() {
        for offsets in [[0, 16], [8, 4], [9, 9]] {
            let h = header(&[entry("a", "U8", &[8], offsets)]);
            let err = Image::new(&h, &[0; 8]).parse().unwrap_err();
            let expected = Error::OffsetsOutOfRange {
                tensor: name("a"),
                offsets,
                data_len: 8,
            };
            assert_eq!(err, expected);
        }
    }

    #[test]
    fn offsets_overlap() {
        let h = header(&[
            entry("a", "U8", &[8], [0, 8]),
            entry("b", "U8", &[8], [4, 12]),
        ]);
        let err = Image::new(&h, &[0; 12]).parse().unwrap_err();
        let expected = Error::OffsetsOverlap {
            tensor: name("b"),
            other: name("a"),
        };
        assert_eq!(err, expected);
    }

    #[test]
    fn data_not_covered() {
        // a gap between two tensors
        let h = header(&[
            entry("a", "U8", &[4], [0, 4]),
            entry("b", "U8", &[4], [8, 12]),
        ]);
        let err = Image::new(&h, &[0; 12]).parse().unwrap_err();
        assert_eq!(
            err,
            Error::DataNotCovered {
                at: 4,
                data_len: 12
            }
        );

        // bytes after the last tensor
        let h = header(&[entry("a", "U8", &[4], [0, 4])]);
        let err = Image::new(&h, &[0; 8]).parse().unwrap_err();
        assert_eq!(err, Error::DataNotCovered { at: 4, data_len: 8 });

        // data and no tensors
        let err = Image::new("{}", &[0; 8]).parse().unwrap_err();
        assert_eq!(err, Error::DataNotCovered { at: 0, data_len: 8 });
    }

    #[test]
    fn misaligned_buffer() {
        let valid = linear("F32", &[2], &[0; 8]);
        assert!(valid.parse().is_ok());
        let shifted = Image::raw(&[&[0], valid.bytes()].concat());
        let err = File::parse(&shifted.bytes()[1..]).unwrap_err();
        let expected = Error::Misaligned {
            tensor: name("fc.0.weight"),
            align: 4,
        };
        assert_eq!(err, expected);
    }

    #[test]
    fn misaligned_in_file() {
        let h = header(&[
            entry("odd", "U8", &[3], [0, 3]),
            entry("f", "F32", &[1], [3, 7]),
        ]);
        let err = Image::new(&h, &[0; 7]).parse().unwrap_err();
        assert_eq!(
            err,
            Error::Misaligned {
                tensor: name("f"),
                align: 4
            }
        );

        let h = header(&[
            entry("four", "U8", &[4], [0, 4]),
            entry("d", "F64", &[1], [4, 12]),
        ]);
        let err = Image::new(&h, &[0; 12]).parse().unwrap_err();
        assert_eq!(
            err,
            Error::Misaligned {
                tensor: name("d"),
                align: 8
            }
        );
    }

    /// `fc.0.weight` of [`linear`]'s file with the given checksum field.
    fn with_crc(crc: &str) -> Image {
        let h = header(&[
            format!(r#""__metadata__":{{"crc32":"{crc}"}}"#),
            entry("w", "F32", &[2], [0, 8]),
        ]);
        Image::new(&h, &le(&[1.0f32, 2.0], f32::to_le_bytes))
    }

    #[test]
    fn bad_checksum_field() {
        for crc in ["xyz", "+1234567", "123456789", "0x123456", ""] {
            let err = with_crc(crc).parse().unwrap_err();
            assert_eq!(err, Error::BadChecksumField { value: name(crc) });
        }
    }

    #[test]
    fn checksum_mismatch() {
        let crc = checksum(&le(&[1.0f32, 2.0], f32::to_le_bytes));
        let mut img = with_crc(&format!("{crc:08x}"));
        assert_eq!(img.parse().unwrap().checksum(), Some(crc));
        assert_eq!(img.parse().unwrap().require_checksum(), Ok(crc));
        assert!(with_crc(&format!("{crc:08X}")).parse().is_ok());

        // one bit of one data byte
        let last = img.len - 1;
        img.bytes_mut()[last] ^= 0x01;
        let computed = checksum(&le(
            &[1.0f32, f32::from_bits(2.0f32.to_bits() ^ 1 << 24)],
            f32::to_le_bytes,
        ));
        let err = img.parse().unwrap_err();
        assert_eq!(
            err,
            Error::ChecksumMismatch {
                stored: crc,
                computed
            }
        );
    }

    #[test]
    fn checksum_of_known_data() {
        // zlib.crc32(b"123456789")
        assert_eq!(checksum(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn missing_checksum() {
        let file = linear("F32", &[2], &[0; 8]);
        let file = file.parse().unwrap();
        assert_eq!(file.checksum(), None);
        assert_eq!(file.require_checksum(), Err(Error::MissingChecksum));
    }

    #[test]
    fn missing_tensor() {
        let h = header(&[entry("fc.0.weight", "F32", &[2, 3], [0, 24])]);
        let img = Image::new(&h, &le(&[1.0f32; 6], f32::to_le_bytes));
        let err = load(&img, &LoadOptions::STRICT).unwrap_err();
        assert_eq!(
            err,
            Error::MissingTensor {
                tensor: name("fc.0.bias")
            }
        );
    }

    #[test]
    fn unexpected_tensor() {
        let data = [le(&[1.0f32; 8], f32::to_le_bytes), vec![0; 3]].concat();
        let h = header(&[
            entry("fc.0.weight", "F32", &[2, 3], [0, 24]),
            entry("fc.0.bias", "F32", &[2], [24, 32]),
            entry("fc.1.weight", "U8", &[3], [32, 35]),
        ]);
        let img = Image::new(&h, &data);
        let err = load(&img, &LoadOptions::STRICT).unwrap_err();
        assert_eq!(
            err,
            Error::UnexpectedTensor {
                tensor: name("fc.1.weight")
            }
        );

        let opts = LoadOptions {
            allow_extra: true,
            ..LoadOptions::STRICT
        };
        let net = load(&img, &opts).unwrap();
        assert_eq!(net.b, [1.0; 2]);
    }

    #[test]
    fn shape_mismatch() {
        let img = linear("F32", &[2, 1], &[0; 8]);
        let err = load(&img, &LoadOptions::STRICT).unwrap_err();
        let expected = Error::ShapeMismatch {
            tensor: name("fc.0.bias"),
            expected: Shape::new(&[2]).unwrap(),
            found: Shape::new(&[2, 1]).unwrap(),
        };
        assert_eq!(err, expected);

        // the weight transposed
        let h = header(&[
            entry("fc.0.weight", "F32", &[3, 2], [0, 24]),
            entry("fc.0.bias", "F32", &[2], [24, 32]),
        ]);
        let err = load(&Image::new(&h, &[0; 32]), &LoadOptions::STRICT).unwrap_err();
        let expected = Error::ShapeMismatch {
            tensor: name("fc.0.weight"),
            expected: Shape::new(&[2, 3]).unwrap(),
            found: Shape::new(&[3, 2]).unwrap(),
        };
        assert_eq!(err, expected);
    }

    #[test]
    fn unsupported_dtype() {
        for (dtype, size) in [
            (Dtype::I32, 4),
            (Dtype::U8, 1),
            (Dtype::F8E4M3, 1),
            (Dtype::Bool, 1),
        ] {
            let img = linear(dtype.name(), &[2], &vec![0; 2 * size]);
            let err = load(&img, &LoadOptions::STRICT).unwrap_err();
            assert_eq!(
                err,
                Error::UnsupportedDtype {
                    tensor: name("fc.0.bias"),
                    dtype
                }
            );
        }
    }

    #[test]
    fn f64_exact_loads() {
        let values = [0.5f64, f64::from(-3.0e38f32)];
        let img = linear("F64", &[2], &le(&values, f64::to_le_bytes));
        assert_eq!(load(&img, &LoadOptions::STRICT).unwrap().b, [0.5, -3.0e38]);
    }

    #[test]
    fn inexact() {
        let img = linear("F64", &[2], &le(&[0.5f64, 0.1], f64::to_le_bytes));
        let err = load(&img, &LoadOptions::STRICT).unwrap_err();
        assert_eq!(
            err,
            Error::Inexact {
                tensor: name("fc.0.bias"),
                index: 1
            }
        );

        // 0.1 rounds to the nearest f32, 0x3dcccccd = 0.100000001490116…
        let opts = LoadOptions {
            round_f64: true,
            ..LoadOptions::STRICT
        };
        let net = load(&img, &opts).unwrap();
        assert_eq!(net.b[0], 0.5);
        assert_eq!(net.b[1].to_bits(), 0x3dcc_cccd);
    }

    #[test]
    fn non_finite() {
        let round = LoadOptions {
            round_f64: true,
            ..LoadOptions::STRICT
        };
        let cases = [
            linear("F32", &[2], &le(&[0.0, f32::NAN], f32::to_le_bytes)),
            linear(
                "F32",
                &[2],
                &le(&[0.0, f32::NEG_INFINITY], f32::to_le_bytes),
            ),
            // f16 +infinity, bf16 NaN
            linear("F16", &[2], &le(&[0u16, 0x7c00], u16::to_le_bytes)),
            linear("BF16", &[2], &le(&[0u16, 0x7fc0], u16::to_le_bytes)),
            // finite in f64, beyond f32's range
            linear("F64", &[2], &le(&[0.0, 1e300], f64::to_le_bytes)),
        ];
        for img in &cases {
            for opts in [LoadOptions::STRICT, round] {
                let err = load(img, &opts).unwrap_err();
                assert_eq!(
                    err,
                    Error::NonFinite {
                        tensor: name("fc.0.bias"),
                        index: 1
                    }
                );
            }
        }
    }

    #[test]
    fn name_too_long() {
        let prefix = "p".repeat(125);
        let opts = LoadOptions {
            prefix: &prefix,
            ..LoadOptions::STRICT
        };
        let img = linear("F32", &[2], &[0; 8]);
        assert_eq!(load(&img, &opts).unwrap_err(), Error::NameTooLong);
    }

    #[test]
    fn f16_and_bf16_widen_exactly() {
        // (bits, the f32 it stands for, as f32 bits)
        let f16 = [
            (0x3c00u16, 0x3f80_0000u32), // 1
            (0xc000, 0xc000_0000),       // -2
            (0x7bff, 0x477f_e000),       // 65504, the largest f16
            (0x0001, 0x3380_0000),       // 2^-24, the smallest subnormal
            (0x8000, 0x8000_0000),       // -0
            (0x3555, 0x3eaa_a000),       // 0.333251953125
        ];
        let bf16 = [
            (0x3f80u16, 0x3f80_0000u32), // 1
            (0x4049, 0x4049_0000),       // 3.140625
            (0x0001, 0x0001_0000),       // a subnormal
            (0xff7f, 0xff7f_0000),       // the most negative bf16
        ];
        for (dtype, table) in [("F16", &f16[..]), ("BF16", &bf16[..])] {
            let bits: Vec<u16> = table.iter().map(|&(b, _)| b).collect();
            let n = bits.len() as u64;
            let img = Image::new(
                &header(&[entry("t", dtype, &[n], [0, 2 * n])]),
                &le(&bits, u16::to_le_bytes),
            );
            let file = img.parse().unwrap();
            let t = file.tensor("t").unwrap();
            assert_eq!(t.as_f32(), None);
            for (k, &(b, expected)) in table.iter().enumerate() {
                let got = t.value(k).unwrap().to_bits();
                assert_eq!(
                    got, expected,
                    "{dtype} {b:#06x}: got {got:#010x}, expected {expected:#010x}"
                );
            }
            assert_eq!(t.value(table.len()), None);
        }
    }

    #[test]
    fn f16_loads_into_network() {
        // 0.5, -0.25
        let img = linear("F16", &[2], &le(&[0x3800u16, 0xb400], u16::to_le_bytes));
        assert_eq!(load(&img, &LoadOptions::STRICT).unwrap().b, [0.5, -0.25]);
    }

    #[test]
    fn renames_and_prefix() {
        let h = header(&[
            entry("generator.net.0.weight", "F32", &[2, 3], [0, 24]),
            entry("generator.net.0.bias", "F32", &[2], [24, 32]),
            // outside the prefix: never looked at, even when extra tensors are refused
            entry("discriminator.fc.0.weight", "U8", &[3], [32, 35]),
        ]);
        let data = [
            le(
                &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                f32::to_le_bytes,
            ),
            vec![0; 3],
        ]
        .concat();
        let img = Image::new(&h, &data);
        let renamed = LoadOptions {
            prefix: "generator.",
            renames: &[("generator.net.", "generator.fc.")],
            ..LoadOptions::STRICT
        };
        let net = load(&img, &renamed).unwrap();
        assert_eq!(net.w, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
        assert_eq!(net.b, [7.0, 8.0]);

        // without the rename nothing is found; with a rename to a shorter head, too
        let plain = LoadOptions {
            prefix: "generator.",
            ..LoadOptions::STRICT
        };
        let err = load(&img, &plain).unwrap_err();
        assert_eq!(
            err,
            Error::MissingTensor {
                tensor: name("generator.fc.0.weight")
            }
        );
        let short = LoadOptions {
            prefix: "g.",
            renames: &[("generator.net.", "g.fc.")],
            ..LoadOptions::STRICT
        };
        assert_eq!(load(&img, &short).unwrap(), net);
    }

    #[test]
    fn rename_onto_a_name_in_the_file() {
        // `net.0.bias` renamed is `fc.0.bias`, which the file also holds: which one loads
        // must not depend on the order of the data
        let h = header(&[
            entry("fc.0.weight", "F32", &[2, 3], [0, 24]),
            entry("fc.0.bias", "F32", &[2], [24, 32]),
            entry("net.0.bias", "F32", &[2], [32, 40]),
        ]);
        let img = Image::new(&h, &le(&[1.0f32; 10], f32::to_le_bytes));
        let opts = LoadOptions {
            renames: &[("net.", "fc.")],
            allow_extra: true,
            ..LoadOptions::STRICT
        };
        let err = load(&img, &opts).unwrap_err();
        assert_eq!(
            err,
            Error::DuplicateTensor {
                tensor: name("net.0.bias")
            }
        );
    }

    #[test]
    fn prefix_refuses_extra_under_it() {
        let mut g = TinyPointsGenerator::ZEROED;
        for i in 0..TinyPointsGenerator::TENSORS {
            for (k, v) in g.tensor_mut(i).iter_mut().enumerate() {
                *v = (i * 100 + k) as f32;
            }
        }
        let img = save(&g, "generator.", "");
        let opts = LoadOptions {
            prefix: "generator.",
            ..LoadOptions::STRICT
        };
        let mut loaded = TinyPointsGenerator::ZEROED;
        img.parse().unwrap().load_into(&mut loaded, &opts).unwrap();
        assert_eq!(loaded, g);

        // a Linear<2, 24> finds its two tensors, and the other four are left over
        let mut first = Linear::<2, 24>::ZEROED;
        let err = img
            .parse()
            .unwrap()
            .load_into(&mut first, &opts)
            .unwrap_err();
        assert_eq!(
            err,
            Error::UnexpectedTensor {
                tensor: name("generator.fc.2.weight")
            }
        );
        assert_eq!(first, Linear::ZEROED);
    }

    #[test]
    fn model_untouched_by_bad_last_tensor() {
        let mut g = TinyPointsGenerator::ZEROED;
        g.tensor_mut(0).fill(1.0);
        let mut img = save(&g, "", "");
        // the last value of the last tensor, fc.4.bias[1], becomes NaN
        let last = img.len - 4;
        img.bytes_mut()[last..].copy_from_slice(&f32::NAN.to_le_bytes());
        let mut net = TinyPointsGenerator::ZEROED;
        net.tensor_mut(1).fill(3.0);
        let before = net;
        let err = img
            .parse()
            .unwrap()
            .load_into(&mut net, &LoadOptions::STRICT)
            .unwrap_err();
        assert_eq!(
            err,
            Error::NonFinite {
                tensor: name("fc.4.bias"),
                index: 1
            }
        );
        assert_eq!(net, before);
    }

    #[test]
    fn metadata() {
        let h = header(&[
            r#""__metadata__":{"format":"pt","note":"a \"quoted\" word","crc32":"00000000"}"#
                .into(),
        ]);
        let img = Image::new(&h, &[]);
        let file = img.parse().unwrap();
        assert_eq!(file.metadata("format"), Some("pt"));
        assert_eq!(file.metadata("note"), Some(r#"a \"quoted\" word"#));
        assert_eq!(file.metadata("crc32"), Some("00000000"));
        assert_eq!(file.metadata("missing"), None);
        // CRC-32 of no bytes
        assert_eq!(file.checksum(), Some(0));
        assert!(file.is_empty());
    }

    #[test]
    fn as_f32_views_the_values() {
        let values = [1.5f32, -0.0, 1e-40, f32::MAX, 3.25, -8.0];
        let h = header(&[
            entry("b", "U8", &[8], [0, 8]),
            entry("a", "F32", &[2, 3], [8, 32]),
        ]);
        let img = Image::new(&h, &[vec![7; 8], le(&values, f32::to_le_bytes)].concat());
        let file = img.parse().unwrap();
        let t = file.tensor("a").unwrap();
        let view = t.as_f32().unwrap();
        assert_eq!(view.len(), t.len());
        for (k, v) in view.iter().enumerate() {
            assert_eq!(v.to_bits(), t.value(k).unwrap().to_bits());
            assert_eq!(v.to_bits(), values[k].to_bits());
        }
        // in place: the view points into the image
        assert_eq!(view.as_ptr().cast::<u8>(), file.data()[8..].as_ptr());
        assert!(img.bytes().as_ptr_range().contains(&file.data().as_ptr()));

        let names: Vec<&str> = file.tensors().map(|t| t.name).collect();
        assert_eq!(names, ["b", "a"]);
        let b = file.tensor("b").unwrap();
        assert_eq!((b.as_f32(), b.value(0)), (None, None));
    }

    // --- int8 networks ----------------------------------------------------------------

    use crate::quant::network::QLinearView;
    use crate::quant::{Affine, QLinear, QTanh, QuantizedMultiplier};

    type Q = crate::Chain<QLinear<2, 3>, QTanh<3>>;

    /// A small int8 network with every value distinct.
    fn qnet() -> Q {
        let input = Affine {
            scale: 0.05,
            zero_point: -1,
        };
        let output = Affine {
            scale: 0.02,
            zero_point: 3,
        };
        let linear = QLinear {
            w: [[1, -2], [3, -4], [127, -127]],
            b: [100, -200, 300],
            m: [QuantizedMultiplier {
                multiplier: 1 << 30,
                shift: -3,
            }; 3],
            input,
            output,
        };
        crate::Chain(linear, QTanh::for_input(output))
    }

    /// Every tensor of `q` under its int8 name, with `extra` entries (JSON, data appended).
    fn save_q<L: QLayer>(q: &L, extra: &[(String, Vec<u8>)]) -> Image {
        let mut entries = Vec::new();
        let mut data = Vec::new();
        // widest dtypes first, so that every tensor is aligned for its own
        let mut order: Vec<usize> = (0..L::TENSORS).collect();
        order.sort_by_key(|&i| core::cmp::Reverse(L::tensor_info(i).unwrap().kind.dtype().size()));
        for i in order {
            let info = L::tensor_info(i).unwrap();
            let start = data.len() as u64;
            L::tensor_bytes(&q.as_view(), i, &mut |b| data.extend_from_slice(b));
            let shape: Vec<u64> = info.shape().iter().map(|&d| d as u64).collect();
            let name = quantized_name(Some(info)).unwrap();
            entries.push(entry(
                &name,
                info.kind.dtype().name(),
                &shape,
                [start, data.len() as u64],
            ));
        }
        for (e, bytes) in extra {
            entries.push(e.clone());
            data.extend_from_slice(bytes);
        }
        Image::new(&header(&entries), &data)
    }

    #[test]
    fn int8_network_runs_in_place() {
        let q = qnet();
        let img = save_q(&q, &[]);
        let file = img.parse().unwrap();
        let net = file.view_quantized::<Q>().unwrap();
        // the weights are the file's bytes, not a copy
        let view: &QLinearView<'_, 2, 3> = &net.view().0;
        let w = file.tensor("fc.0.weight").unwrap();
        assert_eq!(view.w.as_ptr().cast::<u8>(), w.data.as_ptr());
        assert_eq!(w.as_i8().unwrap(), &[1, -2, 3, -4, 127, -127]);
        assert_eq!(
            file.tensor("fc.0.bias").unwrap().as_i32().unwrap(),
            &[100, -200, 300]
        );
        assert_eq!(w.as_i32(), None);
        assert_eq!(Q::from_view(net.view()), q);
        assert_eq!(
            (net.input(), net.output()),
            (q.0.input, Affine::TANH_OUTPUT)
        );
        let own = QNet::of(&q).unwrap();
        let mut s = Q::SCRATCH;
        for x in [[0, 0], [-128, 127], [127, -128], [5, -9]] {
            let (mut a, mut b) = ([0i8; 3], [0i8; 3]);
            net.forward(&x, &mut a, &mut s);
            own.forward(&x, &mut b, &mut s);
            assert_eq!(a, b, "{x:?}");
        }
    }

    #[test]
    fn int8_tensors_are_checked_by_name_dtype_and_shape() {
        let q = qnet();
        let good = save_q(&q, &[]);
        let view = |img: &Image| img.parse().unwrap().view_quantized::<Q>().map(|_| ());

        // another tensor in the file
        let data_len = good.parse().unwrap().data().len() as u64;
        let img = save_q(
            &q,
            &[(entry("x", "U8", &[2], [data_len, data_len + 2]), vec![0, 0])],
        );
        assert_eq!(
            view(&img),
            Err(Error::UnexpectedTensor { tensor: name("x") })
        );

        // an f32 network is not an int8 one
        let f32_file = save(&Linear::<2, 3>::ZEROED, "", "");
        assert_eq!(
            view(&f32_file),
            Err(Error::DtypeMismatch {
                tensor: name("fc.0.weight"),
                expected: Dtype::I8,
                found: Dtype::F32
            })
        );

        // a network of another width
        let err = good
            .parse()
            .unwrap()
            .view_quantized::<QLinear<3, 2>>()
            .map(|_| ());
        assert_eq!(
            err,
            Err(Error::ShapeMismatch {
                tensor: name("fc.0.weight"),
                expected: Shape::new(&[2, 3]).unwrap(),
                found: Shape::new(&[3, 2]).unwrap(),
            })
        );
        let err = good
            .parse()
            .unwrap()
            .view_quantized::<crate::Chain<QLinear<2, 3>, QTanh<3>>>();
        assert!(err.is_ok());
        let no_table = save_q(&q.0, &[]);
        assert_eq!(
            view(&no_table),
            Err(Error::MissingTensor {
                tensor: name("fc.1.table")
            })
        );
    }

    #[test]
    fn int8_values_out_of_range_are_named() {
        // an edit, and the tensor and element it puts out of range
        type Case = (fn(&mut Q), &'static str, usize);
        let cases: [Case; 4] = [
            (|q| q.0.m[2].multiplier = 5, "fc.0.multiplier", 2),
            (|q| q.0.m[1].shift = -40, "fc.0.shift", 1),
            (|q| q.0.output.zero_point = 200, "fc.0.zero_points", 1),
            (|q| q.0.input.scale = -1.0, "fc.0.scales", 0),
        ];
        for (edit, tensor, index) in cases {
            let mut q = qnet();
            edit(&mut q);
            let img = save_q(&q, &[]);
            let err = img.parse().unwrap().view_quantized::<Q>().map(|_| ());
            match err {
                Err(Error::BadQuantization {
                    tensor: t,
                    index: i,
                    ..
                }) => assert_eq!((t.as_str(), i), (tensor, index)),
                other => panic!("{tensor}: {other:?}"),
            }
        }
        // and the message says what is wrong where
        let mut q = qnet();
        q.0.m[2].multiplier = 5;
        let err = save_q(&q, &[])
            .parse()
            .unwrap()
            .view_quantized::<Q>()
            .err()
            .unwrap();
        assert_eq!(
            std::string::ToString::to_string(&err),
            "`fc.0.multiplier`, element 2: a multiplier is neither 0 nor in [2^30, 2^31)"
        );
    }
}
