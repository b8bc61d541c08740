//! Which tensors train, and with which learning rate and weight decay (docs/MODEL.md §4).

use crate::model::ModelKind;

use super::optim::Group;

/// Learning rates and weight decay of the three parameter groups.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupSettings {
    /// BERT and regressor tensors (2e-5 in the paper preset).
    pub lr: f64,
    /// Fusion-head tensors without "bias" in their name (0.01).
    pub head_lr: f64,
    /// Weight decay of the decaying groups (0.01).
    pub weight_decay: f64,
    /// The paper freezes the pre-trained embeddings; a BERT trained from scratch cannot.
    #[serde(default = "yes")]
    pub freeze_embeddings: bool,
}

fn yes() -> bool {
    true
}

impl Default for GroupSettings {
    fn default() -> Self {
        Self {
            lr: 2e-5,
            head_lr: 0.01,
            weight_decay: 0.01,
            freeze_embeddings: true,
        }
    }
}

/// `None` for frozen tensors: the embeddings, and, as a quirk of the reference, CM-BERT's
/// final regressor (it keeps its random initialisation). T-BERT trains its regressor.
pub fn group_for(name: &str, model: ModelKind, s: &GroupSettings) -> Option<Group> {
    if s.freeze_embeddings && name.starts_with("bert.embeddings.") {
        return None;
    }
    if model == ModelKind::CmBert && name.starts_with("classifier.") {
        return None;
    }
    let no_decay = name.contains("bias") || (name.starts_with("bert.") && name.contains("LayerNorm.weight"));
    Some(if no_decay {
        Group {
            lr: s.lr,
            weight_decay: 0.0,
        }
    } else if name.starts_with("fusion.") {
        Group {
            lr: s.head_lr,
            weight_decay: s.weight_decay,
        }
    } else {
        Group {
            lr: s.lr,
            weight_decay: s.weight_decay,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_the_reference() {
        let s = GroupSettings::default();
        let g = |n, m| group_for(n, m, &s);
        let bert_decay = Some(Group {
            lr: 2e-5,
            weight_decay: 0.01,
        });
        let no_decay = Some(Group {
            lr: 2e-5,
            weight_decay: 0.0,
        });
        let head = Some(Group {
            lr: 0.01,
            weight_decay: 0.01,
        });
        assert_eq!(g("bert.embeddings.word_embeddings.weight", ModelKind::CmBert), None);
        assert_eq!(g("classifier.weight", ModelKind::CmBert), None);
        assert_eq!(g("classifier.weight", ModelKind::TBert), bert_decay);
        assert_eq!(g("classifier.bias", ModelKind::TBert), no_decay);
        assert_eq!(
            g("bert.encoder.layer.0.attention.self.query.weight", ModelKind::CmBert),
            bert_decay
        );
        assert_eq!(
            g("bert.encoder.layer.0.output.LayerNorm.weight", ModelKind::CmBert),
            no_decay
        );
        assert_eq!(g("bert.pooler.dense.bias", ModelKind::CmBert), no_decay);
        for head_name in [
            "fusion.proj_t.weight",
            "fusion.text_weight",
            "fusion.audio_weight",
            "fusion.layer_norm.weight",
            "fusion.cls_audio",
            "fusion.dense.weight",
        ] {
            assert_eq!(g(head_name, ModelKind::CmBert), head, "{head_name}");
        }
        // "bias" anywhere in the name: the fusion scalar b and the head's biases.
        assert_eq!(g("fusion.bias", ModelKind::CmBert), no_decay);
        assert_eq!(g("fusion.layer_norm.bias", ModelKind::CmBert), no_decay);
    }
}
