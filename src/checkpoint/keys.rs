//! Maps the tensor names of every accepted checkpoint layout to our canonical names:
//! `bert.<Hugging Face key>`, `fusion.*` for the fusion head, `classifier.*`.

use candle_core::{Result, Tensor};

/// Canonical name of one tensor, and whether its trailing kernel dimension must be dropped
/// (the reference's kernel-size-1 Conv1d weights are `[k, in, 1]`; ours are `[k, in]`).
pub fn canonical_name(raw: &str) -> (String, bool) {
    let name = raw.strip_prefix("module.").unwrap_or(raw);
    let name = if let Some(rest) = name.strip_prefix("BertFinetun.") {
        let rest = rest
            .replace("text_weight_1", "text_weight")
            .replace("audio_weight_1", "audio_weight")
            .replace("LayerNorm1.", "layer_norm.");
        format!("fusion.{rest}")
    } else if ["embeddings.", "encoder.", "pooler."]
        .iter()
        .any(|p| name.starts_with(p))
    {
        format!("bert.{name}")
    } else {
        name.to_string()
    };
    // Old Google-derived files call LayerNorm parameters gamma/beta.
    let is_norm = name.contains("LayerNorm") || name.contains("layer_norm");
    let name = match (is_norm, name.rsplit_once('.')) {
        (true, Some((stem, "gamma"))) => format!("{stem}.weight"),
        (true, Some((stem, "beta"))) => format!("{stem}.bias"),
        _ => name,
    };
    let squeeze = matches!(name.as_str(), "fusion.proj_t.weight" | "fusion.proj_a.weight");
    (name, squeeze)
}

/// Renames (and reshapes) a whole set of tensors.
pub fn canonicalise(raw: impl IntoIterator<Item = (String, Tensor)>) -> Result<Vec<(String, Tensor)>> {
    raw.into_iter()
        .map(|(name, tensor)| {
            let (canonical, squeeze) = canonical_name(&name);
            let tensor = if squeeze && tensor.rank() == 3 {
                tensor.squeeze(2)?
            } else {
                tensor
            };
            Ok((canonical, tensor))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::canonical_name;

    #[test]
    fn every_layout_maps_to_one_name() {
        let cases = [
            ("embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.weight"),
            ("bert.embeddings.LayerNorm.gamma", "bert.embeddings.LayerNorm.weight"),
            (
                "bert.encoder.layer.3.output.LayerNorm.beta",
                "bert.encoder.layer.3.output.LayerNorm.bias",
            ),
            ("module.bert.pooler.dense.weight", "bert.pooler.dense.weight"),
            ("BertFinetun.text_weight_1", "fusion.text_weight"),
            ("BertFinetun.audio_weight_1", "fusion.audio_weight"),
            ("BertFinetun.LayerNorm1.gamma", "fusion.layer_norm.weight"),
            ("BertFinetun.dense.bias", "fusion.dense.bias"),
            ("fusion.layer_norm.bias", "fusion.layer_norm.bias"),
            ("classifier.weight", "classifier.weight"),
        ];
        for (raw, want) in cases {
            assert_eq!(canonical_name(raw).0, want, "{raw}");
        }
        assert_eq!(
            canonical_name("BertFinetun.proj_t.weight"),
            ("fusion.proj_t.weight".into(), true)
        );
        // A "beta" that is not a LayerNorm parameter keeps its name.
        assert_eq!(canonical_name("fusion.beta").0, "fusion.beta");
    }
}
