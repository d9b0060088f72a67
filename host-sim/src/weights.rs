//! Networks to and from safetensors files, with PyTorch's `state_dict` names
//! (`fc.0.weight`, `fc.0.bias`, `fc.2.weight`, …) and `[out, in]` weight layout.

use anyhow::{bail, ensure, Context, Result};
use picogan::Layer;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What a weights file says about the model it holds, in its safetensors metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    /// Data set the model was trained on (`digits`, `ring8`, `grid25`, `idx`).
    pub dataset: String,
    /// Architecture (`small` or `seed`).
    pub arch: String,
    /// `generator` or `discriminator`.
    pub role: String,
}

impl ModelInfo {
    fn to_metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            ("format".into(), "picogan".into()),
            ("dataset".into(), self.dataset.clone()),
            ("arch".into(), self.arch.clone()),
            ("role".into(), self.role.clone()),
        ])
    }
}

/// The `state_dict` name of tensor `i` of `L`.
pub fn tensor_name<L: Layer>(i: usize) -> Option<String> {
    L::tensor_info(i).map(|t| format!("fc.{}.{}", t.layer, t.kind.name()))
}

/// Serialises `net` as little-endian f32 tensors with `info` in the metadata.
pub fn to_bytes<L: Layer>(net: &L, info: &ModelInfo) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = (0..L::TENSORS)
        .map(|i| net.tensor(i).iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = BTreeMap::new();
    for (i, data) in bytes.iter().enumerate() {
        let t = L::tensor_info(i).context("tensor index within TENSORS")?;
        let name = tensor_name::<L>(i).context("tensor index within TENSORS")?;
        views.insert(name, TensorView::new(Dtype::F32, t.shape().to_vec(), data)?);
    }
    canonical(safetensors::serialize(views, Some(info.to_metadata()))?)
}

/// Rewrites a safetensors file's JSON header with its keys in sorted order.
///
/// The metadata goes through a `HashMap`, whose order changes from run to run; sorted,
/// the same model always gives the same bytes. Tensor data is not touched, and the header
/// keeps the format's padding with spaces to a multiple of 8 bytes.
fn canonical(file: Vec<u8>) -> Result<Vec<u8>> {
    let st = SafeTensors::read_metadata(&file)?;
    let header_len = st.0;
    let header: serde_json::Value = serde_json::from_slice(&file[8..8 + header_len])?;
    let mut text = serde_json::to_vec(&header)?; // serde_json's maps are sorted
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + text.len() + file.len() - 8 - header_len);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&file[8 + header_len..]);
    Ok(out)
}

/// Writes `net` to `path`: to a temporary file beside it first, then renamed over it, so
/// an interrupted write never leaves a half-written file under the final name.
pub fn save<L: Layer>(net: &L, info: &ModelInfo, path: &Path) -> Result<()> {
    let bytes = to_bytes(net, info)?;
    let tmp = path.with_extension("safetensors.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads the model description of a weights file without reading its tensors.
pub fn read_info(bytes: &[u8], shown: &str) -> Result<ModelInfo> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| anyhow::anyhow!("{shown}: not a safetensors file: {e}"))?;
    let m = meta.metadata().as_ref();
    let get = |k: &str| {
        m.and_then(|m| m.get(k)).cloned().with_context(|| {
            format!("{shown}: no `{k}` in its metadata; was it written by picogan?")
        })
    };
    Ok(ModelInfo {
        dataset: get("dataset")?,
        arch: get("arch")?,
        role: get("role")?,
    })
}

/// Loads every tensor of `L` from safetensors `bytes` into `net`.
///
/// Every name, dtype and shape is checked, and extra tensors are refused, before `net` is
/// touched: on any error `net` is left as it was.
pub fn load_into<L: Layer>(net: &mut L, bytes: &[u8], shown: &str) -> Result<()> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    let mut found = Vec::with_capacity(L::TENSORS);
    for i in 0..L::TENSORS {
        let (Some(info), Some(name)) = (L::tensor_info(i), tensor_name::<L>(i)) else {
            bail!("{shown}: model describes tensor {i} inconsistently");
        };
        let view = st
            .tensor(&name)
            .with_context(|| format!("{shown}: missing tensor `{name}`"))?;
        ensure!(
            view.dtype() == Dtype::F32,
            "{shown}: tensor `{name}` is {:?}, expected F32",
            view.dtype()
        );
        ensure!(
            view.shape() == info.shape(),
            "{shown}: tensor `{name}` has shape {:?}, expected {:?}",
            view.shape(),
            info.shape()
        );
        if let Some(k) = view
            .data()
            .chunks_exact(4)
            .position(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
        {
            bail!("{shown}: tensor `{name}` holds a NaN or infinite value at element {k}");
        }
        found.push(view.data());
    }
    if st.len() != L::TENSORS {
        let expected: Vec<String> = (0..L::TENSORS).filter_map(tensor_name::<L>).collect();
        let extra: Vec<&str> = st
            .names()
            .into_iter()
            .filter(|n| !expected.iter().any(|e| e == n))
            .collect();
        bail!("{shown}: unexpected tensors {extra:?}");
    }

    // everything checked: now overwrite
    for (i, data) in found.into_iter().enumerate() {
        for (v, b) in net.tensor_mut(i).iter_mut().zip(data.chunks_exact(4)) {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
    Ok(())
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
        assert_eq!(read_info(&bytes, "test").unwrap(), info());
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
