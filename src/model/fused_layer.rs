//! One BERT encoder layer as a single graph node with a hand-written backward pass.
//!
//! Built from candle ops, a layer is some forty graph nodes forward and more backward, each
//! allocating its output, and the attention needs head-split transposed copies of q, k, v
//! and the context. Here the layer is one custom op over its input: the products read
//! heads and transposed weights through strides (`gemm.rs`), element-wise work is fused
//! into the passes around them, and the backward pass frees the layer's saved activations
//! as soon as it is done with them.
//!
//! candle only differentiates a custom op with respect to its arguments (here the input and
//! the query weight, see `forward`), so the layer's parameter gradients go to a `GradSink` that `CmBert::backward` empties into the
//! `GradStore`. The composite layer (`bert.rs`) stays for other devices and for attention
//! maps, and is the reference the tests compare against.

use std::sync::{Arc, Mutex, PoisonError};

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Storage, Tensor};

use super::bf16::Products;
use super::fused::contiguous_f32;
use super::gemm::Write;
pub use super::layer_kernels::Backward;
use super::layer_kernels::{self as k, AttentionShape, Keep};

/// Parameter gradients of fused layers, collected during `backward`.
#[derive(Debug, Clone, Default)]
pub struct GradSink(Arc<Mutex<Vec<(Tensor, Tensor)>>>);

impl GradSink {
    fn push(&self, param: &Tensor, grad: Vec<f32>) -> Result<()> {
        let grad = Tensor::from_vec(grad, param.shape(), param.device())?;
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((param.clone(), grad));
        Ok(())
    }

    /// Forgets gradients of a backward pass nobody collected.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Moves the collected gradients into `grads` (adding to any already there).
    pub fn drain_into(&self, grads: &mut GradStore) -> Result<()> {
        let collected = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        for (param, grad) in collected {
            let total = match grads.remove(&param) {
                Some(previous) => (previous + grad)?,
                None => grad,
            };
            grads.insert(&param, total);
        }
        Ok(())
    }
}

/// A weight and a bias: of a linear map (`[out, in]`, `[out]`) or of a layer norm.
#[derive(Debug, Clone)]
pub struct Affine {
    /// `[out, in]` for a linear map, `[dim]` for a layer norm.
    pub weight: Tensor,
    /// `[out]` (or `[dim]`).
    pub bias: Tensor,
}

/// One encoder layer's parameters and hyper-parameters.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    /// Query projection.
    pub query: Affine,
    /// Key projection.
    pub key: Affine,
    /// Value projection.
    pub value: Affine,
    /// Projection of the attention's context back to the hidden width.
    pub attention_output: Affine,
    /// Layer norm after the attention block.
    pub attention_norm: Affine,
    /// Feed-forward expansion.
    pub intermediate: Affine,
    /// Feed-forward projection back to the hidden width.
    pub output: Affine,
    /// Layer norm after the feed-forward block.
    pub output_norm: Affine,
    /// Number of attention heads.
    pub heads: usize,
    /// Layer-norm epsilon.
    pub eps: f32,
    /// f32 or bf16 matrix products (`bf16/`).
    pub products: Products,
}

impl LayerWeights {
    fn affines(&self) -> [&Affine; 8] {
        [
            &self.query,
            &self.key,
            &self.value,
            &self.attention_output,
            &self.attention_norm,
            &self.intermediate,
            &self.output,
            &self.output_norm,
        ]
    }
}

/// The dropout masks of one layer in training: attention probabilities, attention output,
/// feed-forward output.
#[derive(Debug, Default)]
pub struct LayerMasks {
    /// Dropout of the attention probabilities: which survive, and the scale `1 / (1 - p)`.
    pub probs: Option<(Vec<bool>, f32)>,
    /// Dropout of the attention block's output.
    pub attention_output: Option<(Vec<bool>, f32)>,
    /// Dropout of the feed-forward block's output.
    pub output: Option<(Vec<bool>, f32)>,
}

fn keep(mask: &Option<(Vec<bool>, f32)>) -> Keep<'_> {
    mask.as_ref().map(|(k, s)| (k.as_slice(), *s))
}

/// The layer applied to `xs` `[B, L, hidden]` with the additive mask `[B * L]`. With
/// `Backward::Never` (inference) it keeps nothing, and a backward pass fails with an error.
pub fn forward(
    xs: &Tensor,
    weights: &LayerWeights,
    mask: Arc<[f32]>,
    masks: LayerMasks,
    backward: Backward,
    sink: &GradSink,
) -> Result<Tensor> {
    let tracked = xs.track_op() || weights.affines().iter().any(|a| a.weight.track_op());
    let op = FusedLayer {
        weights: weights.clone(),
        mask,
        masks,
        // Untracked, no backward pass can reach the layer: nothing to keep either.
        backward: if tracked { backward } else { Backward::Never },
        saved: Mutex::new(None),
        sink: sink.clone(),
    };
    // The query weight rides along as a second argument so that the node is in the graph
    // whenever the layer's parameters are, even when its input is not (frozen embeddings);
    // candle would otherwise never call the backward pass, and the layer would not train.
    xs.contiguous()?.apply_op2(&weights.query.weight, op)
}

struct FusedLayer {
    weights: LayerWeights,
    mask: Arc<[f32]>,
    masks: LayerMasks,
    /// Whether the forward pass keeps what the backward pass reads (`Saved`).
    backward: Backward,
    saved: Mutex<Option<Saved>>,
    sink: GradSink,
}

/// Whether the backward pass computes the gradient of the layer's input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InputGrad {
    Wanted,
    Unused,
}

/// Forward activations the backward pass reads.
struct Saved {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    probs: Vec<f32>,
    context: Vec<f32>,
    attention_norm: k::Normed,
    intermediate: Vec<f32>,
    activated: Vec<f32>,
    output_norm: k::Normed,
}

/// Parameter slices, in `LayerWeights::affines` order, weight then bias.
struct Slices<'a>([&'a [f32]; 16]);

impl<'a> Slices<'a> {
    fn get(&self, affine: usize) -> (&'a [f32], &'a [f32]) {
        (self.0[2 * affine], self.0[2 * affine + 1])
    }
}

/// The per-head attention products (50 x 50 x 64 at BERT's shapes, about 2 % of a layer's
/// arithmetic) stay f32 under bf16 too: packing costs more than bf16 saves at that size
/// (`benches/bf16_gemm.rs`: bf16 1.8-1.9x slower there), and f32 is the more exact of the two.
const ATTENTION_PRODUCTS: Products = Products::F32;

const QUERY: usize = 0;
const KEY: usize = 1;
const VALUE: usize = 2;
const ATTENTION_OUTPUT: usize = 3;
const ATTENTION_NORM: usize = 4;
const INTERMEDIATE: usize = 5;
const OUTPUT: usize = 6;
const OUTPUT_NORM: usize = 7;

/// Runs `f` on the CPU slices of `tensors` (read-locked meanwhile).
fn with_slices<R>(tensors: &[&Tensor], f: impl FnOnce(&[&[f32]]) -> Result<R>) -> Result<R> {
    let held: Vec<_> = tensors.iter().map(|t| t.storage_and_layout()).collect();
    let mut slices = Vec::with_capacity(held.len());
    for (storage, layout) in &held {
        let Storage::Cpu(cpu) = &**storage else {
            candle_core::bail!("fused encoder layer: a tensor is off the CPU")
        };
        slices.push(contiguous_f32(cpu, layout, "fused encoder layer")?);
    }
    f(&slices)
}

impl FusedLayer {
    fn with_params<R>(&self, extra: &[&Tensor], f: impl FnOnce(&Slices<'_>, &[&[f32]]) -> Result<R>) -> Result<R> {
        let mut tensors: Vec<&Tensor> = self
            .weights
            .affines()
            .iter()
            .flat_map(|a| [&a.weight, &a.bias])
            .collect();
        tensors.extend_from_slice(extra);
        with_slices(&tensors, |all| {
            let params: [&[f32]; 16] = std::array::from_fn(|i| all[i]);
            f(&Slices(params), &all[16..])
        })
    }

    fn shape(&self, layout: &Layout) -> Result<AttentionShape> {
        let &[batch, len, hidden] = layout.dims() else {
            candle_core::bail!(
                "fused encoder layer: expected [batch, len, hidden], got {:?}",
                layout.dims()
            )
        };
        let heads = self.weights.heads;
        if hidden % heads != 0 || self.mask.len() != batch * len {
            candle_core::bail!(
                "fused encoder layer: {heads} heads, hidden {hidden}, mask of {}",
                self.mask.len()
            );
        }
        Ok(AttentionShape {
            batch,
            len,
            heads,
            head_dim: hidden / heads,
        })
    }

    fn scale(shape: &AttentionShape) -> f32 {
        (1.0 / (shape.head_dim as f64).sqrt()) as f32
    }

    fn run_forward(&self, x: &[f32], shape: AttentionShape, p: &Slices<'_>) -> (Vec<f32>, Saved) {
        let rows = shape.batch * shape.len;
        let linear = |input: &[f32], which: usize| {
            let (w, b) = p.get(which);
            k::linear(input, rows, w, b, self.weights.products)
        };
        // One packing of `x` for the three products (bf16; f32 runs them one by one).
        let [q, key, v] =
            k::linears_of_one_input(x, rows, [p.get(QUERY), p.get(KEY), p.get(VALUE)], self.weights.products);
        let backward = self.backward;
        let (probs, context) = k::attention_forward(
            shape,
            (&q, &key, &v),
            &self.mask,
            Self::scale(&shape),
            keep(&self.masks.probs),
            ATTENTION_PRODUCTS,
            backward,
        );
        let attention_norm = k::residual_norm(
            linear(&context, ATTENTION_OUTPUT),
            keep(&self.masks.attention_output),
            x,
            p.get(ATTENTION_NORM),
            self.weights.eps,
            backward,
        );
        // The backward pass reads the values before the activation; inference does not
        // keep them, so the activation runs as the product finishes (`linear_gelu`).
        let (intermediate, activated) = match backward {
            Backward::Possible => {
                let intermediate = linear(&attention_norm.out, INTERMEDIATE);
                let activated = k::gelu_forward(&intermediate);
                (intermediate, activated)
            }
            Backward::Never => {
                let (w, b) = p.get(INTERMEDIATE);
                (
                    Vec::new(),
                    k::linear_gelu(&attention_norm.out, rows, w, b, self.weights.products),
                )
            }
        };
        let mut output_norm = k::residual_norm(
            linear(&activated, OUTPUT),
            keep(&self.masks.output),
            &attention_norm.out,
            p.get(OUTPUT_NORM),
            self.weights.eps,
            backward,
        );
        let y = std::mem::take(&mut output_norm.out);
        let saved = Saved {
            q,
            k: key,
            v,
            probs,
            context,
            attention_norm,
            intermediate,
            activated,
            output_norm,
        };
        (y, saved)
    }

    /// `dx` from `dy` (when `input` needs it); parameter gradients go to the sink.
    fn run_backward(
        &self,
        x: &[f32],
        dy: &[f32],
        shape: AttentionShape,
        p: &Slices<'_>,
        s: Saved,
        input: InputGrad,
    ) -> Result<Option<Vec<f32>>> {
        let rows = shape.batch * shape.len;
        let hidden = shape.heads * shape.head_dim;
        let weights = self.weights.affines();
        let products = self.weights.products;
        let push = |which: usize, (dw, db): (Vec<f32>, Vec<f32>)| -> Result<()> {
            self.sink.push(&weights[which].weight, dw)?;
            self.sink.push(&weights[which].bias, db)
        };

        // Feed-forward block.
        let (d_sum2, dn2w, dn2b) = k::norm_backward(dy, &s.output_norm.xhat, &s.output_norm.rstd, p.get(OUTPUT_NORM).0);
        push(OUTPUT_NORM, (dn2w, dn2b))?;
        let d_out = k::apply_dropout(&d_sum2, keep(&self.masks.output));
        let (w_out, _) = p.get(OUTPUT);
        push(
            OUTPUT,
            k::linear_param_grads(&d_out, &s.activated, rows, hidden, products),
        )?;
        let mut d_inter = vec![0f32; s.intermediate.len()];
        k::linear_input_grad(&mut d_inter, &d_out, rows, w_out, Write::Replace, products);
        drop(d_out);
        drop(s.activated);
        k::gelu_backward_in_place(&mut d_inter, &s.intermediate);
        drop(s.intermediate);
        let inter_dim = d_inter.len() / rows;
        push(
            INTERMEDIATE,
            k::linear_param_grads(&d_inter, &s.attention_norm.out, rows, inter_dim, products),
        )?;
        let mut d_attended = d_sum2;
        k::linear_input_grad(
            &mut d_attended,
            &d_inter,
            rows,
            p.get(INTERMEDIATE).0,
            Write::Add,
            products,
        );
        drop(d_inter);

        // Attention block.
        let norm1 = &s.attention_norm;
        let (d_sum1, dn1w, dn1b) = k::norm_backward(&d_attended, &norm1.xhat, &norm1.rstd, p.get(ATTENTION_NORM).0);
        drop(d_attended);
        push(ATTENTION_NORM, (dn1w, dn1b))?;
        let d_proj = k::apply_dropout(&d_sum1, keep(&self.masks.attention_output));
        push(
            ATTENTION_OUTPUT,
            k::linear_param_grads(&d_proj, &s.context, rows, hidden, products),
        )?;
        let mut d_context = vec![0f32; s.context.len()];
        k::linear_input_grad(
            &mut d_context,
            &d_proj,
            rows,
            p.get(ATTENTION_OUTPUT).0,
            Write::Replace,
            products,
        );
        drop(d_proj);
        let (dq, dk, dv) = k::attention_backward(
            shape,
            (&s.q, &s.k, &s.v),
            &s.probs,
            &d_context,
            Self::scale(&shape),
            keep(&self.masks.probs),
            ATTENTION_PRODUCTS,
        );
        let mut dx = d_sum1;
        for (which, grad) in [(QUERY, &dq), (KEY, &dk), (VALUE, &dv)] {
            if input == InputGrad::Wanted {
                k::linear_input_grad(&mut dx, grad, rows, p.get(which).0, Write::Add, products);
            }
        }
        // One packing of `x` for the three weight gradients (bf16; f32 runs them one by one).
        let grads = k::linear_param_grads_of_one_input([&dq, &dk, &dv], x, rows, hidden, products);
        for (which, grad) in [QUERY, KEY, VALUE].into_iter().zip(grads) {
            push(which, grad)?;
        }
        Ok((input == InputGrad::Wanted).then_some(dx))
    }
}

impl CustomOp2 for FusedLayer {
    fn name(&self) -> &'static str {
        "cmbert-encoder-layer"
    }

    /// The second argument is the query weight, read with the other parameters.
    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
        _query_weight: &CpuStorage,
        _query_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        let shape = self.shape(layout)?;
        let (y, saved) = self.with_params(&[], |p, _| Ok(self.run_forward(x, shape, p)))?;
        if self.backward == Backward::Possible {
            *self.saved.lock().unwrap_or_else(PoisonError::into_inner) = Some(saved);
        }
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }

    /// The query weight's gradient goes to the sink with the others (`None` here).
    fn bwd(
        &self,
        arg: &Tensor,
        _query_weight: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let Some(saved) = self.saved.lock().unwrap_or_else(PoisonError::into_inner).take() else {
            candle_core::bail!("fused encoder layer: backward pass without saved activations (run twice, or after an inference-mode forward?)")
        };
        let grad = grad_res.contiguous()?;
        let shape = self.shape(arg.layout())?;
        // Frozen embeddings below: the layer's input needs no gradient.
        let input = if arg.track_op() {
            InputGrad::Wanted
        } else {
            InputGrad::Unused
        };
        let dx = self.with_params(&[arg, &grad], |p, xs| {
            self.run_backward(xs[0], xs[1], shape, p, saved, input)
        })?;
        let dx = dx
            .map(|dx| Tensor::from_vec(dx, arg.shape(), arg.device()))
            .transpose()?;
        Ok((dx, None))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{Device, Tensor};

    use crate::model::{BertAttentions, BertConfig, BertModel, DropoutRng, Mode, ParamStore};

    /// Gradients of `loss` including the fused layers' (what `CmBert::backward` does).
    fn gradients(model: &BertModel, loss: &Tensor) -> candle_core::backprop::GradStore {
        model.grad_sink.clear();
        let mut grads = loss.backward().unwrap();
        model.grad_sink.drain_into(&mut grads).unwrap();
        grads
    }

    fn max_abs(t: &Tensor) -> f32 {
        t.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap()
    }

    /// max |a - b| / max(max |b|, 0.01): relative, with the golden tests' floor for
    /// gradients that are zero up to float noise (the key bias: softmax ignores a shift).
    fn relative_diff(a: &Tensor, b: &Tensor) -> f32 {
        let diff = max_abs(&(a - b).unwrap());
        let scale = max_abs(b);
        diff / scale.max(0.01)
    }

    /// The fused layers against the composite ones (which return attention maps): the same
    /// output and the same gradient for every parameter, with dropout drawn from one seed,
    /// padding in the mask, and a sequence length that is not a multiple of anything.
    #[test]
    fn fused_layers_match_the_composite_forward_and_every_gradient() {
        let dev = Device::Cpu;
        let mut cfg = BertConfig::sized(50, 48, 2, 4, 80);
        cfg.attention_probs_dropout_prob = 0.2;
        let store = ParamStore::new(HashMap::new(), 3, &dev);
        let model = BertModel::load(store.var_builder(), &cfg).unwrap();
        let ids = Tensor::new(
            &[[1u32, 7, 9, 3, 4, 0, 0], [2, 8, 8, 8, 1, 5, 6], [3, 4, 0, 0, 0, 0, 0]],
            &dev,
        )
        .unwrap();
        let mask = ids.ne(0u32).unwrap().to_dtype(candle_core::DType::F32).unwrap();
        let weights = Tensor::randn(0f32, 1.0, (3, 7, 48), &dev).unwrap();
        for train in [false, true] {
            let run = |attentions: BertAttentions| {
                let rng = DropoutRng::new(11);
                let mode = if train { Mode::Train(&rng) } else { Mode::Eval };
                let out = model.forward(&ids, &mask, mode, attentions).unwrap();
                let composite = attentions == BertAttentions::Keep;
                assert_eq!(out.attentions.is_some(), composite, "which path ran");
                let loss = (&out.last_hidden_state * &weights).unwrap().sum_all().unwrap();
                (out.last_hidden_state, gradients(&model, &loss))
            };
            let (fused, fused_grads) = run(BertAttentions::Skip);
            let (composite, composite_grads) = run(BertAttentions::Keep);
            let d = relative_diff(&fused, &composite);
            assert!(d < 1e-5, "train={train}: output differs by {d}");
            let mut checked = 0;
            for (name, var) in store.vars() {
                let Some(expected) = composite_grads.get(var.as_tensor()) else {
                    continue;
                };
                let got = fused_grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("train={train}: no gradient for {name}"));
                let d = relative_diff(got, expected);
                assert!(d < 1e-5, "train={train}: gradient of {name} differs by {d}");
                checked += 1;
            }
            // 16 per layer, the embedding norm's 2 and the 3 embedding tables; not the pooler.
            assert_eq!(checked, 2 * 16 + 2 + 3, "train={train}: gradients compared");
        }
    }

    /// With frozen (detached) embeddings the first layer's input needs no gradient, but its
    /// parameters do: the trap where candle never calls the backward pass of an op whose
    /// arguments all lack gradients.
    #[test]
    fn layers_above_frozen_embeddings_still_get_gradients() {
        let dev = Device::Cpu;
        let cfg = BertConfig::sized(50, 32, 2, 4, 64);
        let store = ParamStore::new(HashMap::new(), 5, &dev);
        let mut model = BertModel::load(store.var_builder(), &cfg).unwrap();
        model.detach_embeddings();
        let ids = Tensor::new(&[[1u32, 7, 9, 3], [2, 8, 0, 0]], &dev).unwrap();
        let mask = ids.ne(0u32).unwrap().to_dtype(candle_core::DType::F32).unwrap();
        let rng = DropoutRng::new(1);
        let out = model
            .forward(&ids, &mask, Mode::Train(&rng), BertAttentions::Skip)
            .unwrap();
        let loss = out.last_hidden_state.sqr().unwrap().sum_all().unwrap();
        let grads = gradients(&model, &loss);
        for (name, var) in store.vars() {
            let grad = grads.get(var.as_tensor());
            if name.starts_with("embeddings.") || name.starts_with("pooler.") {
                assert!(grad.is_none(), "{name} is frozen or unused but got a gradient");
            } else {
                let grad = grad.unwrap_or_else(|| panic!("no gradient for {name}"));
                assert!(max_abs(grad) > 0.0, "{name}: zero gradient");
            }
        }
    }

    /// Inference gives evaluation's bits in both precisions (the activation fused into the
    /// feed-forward product, nothing kept), and a backward pass after it is an error, not
    /// gradients from stale activations.
    #[test]
    fn inference_equals_evaluation_and_refuses_a_backward_pass() {
        use crate::model::bf16::{Kernel, Products};
        let dev = Device::Cpu;
        let cfg = BertConfig::sized(50, 32, 2, 4, 64);
        let ids = Tensor::new(&[[1u32, 7, 9, 3, 4, 0], [2, 8, 8, 8, 1, 5]], &dev).unwrap();
        let mask = ids.ne(0u32).unwrap().to_dtype(candle_core::DType::F32).unwrap();
        let store = ParamStore::new(HashMap::new(), 7, &dev);
        let mut model = BertModel::load(store.var_builder(), &cfg).unwrap();
        let bf16 = Products::Bf16(Kernel::hardware().unwrap_or(Kernel::Emulated));
        for products in [Products::F32, bf16] {
            model.set_products(products);
            let run = |mode| {
                let out = model.forward(&ids, &mask, mode, BertAttentions::Skip).unwrap();
                out.last_hidden_state
            };
            let (eval, infer) = (run(Mode::Eval), run(Mode::Infer));
            let bits = |t: &Tensor| -> Vec<u32> {
                t.flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            };
            assert_eq!(bits(&eval), bits(&infer), "{products:?}");
            let err = infer.sum_all().unwrap().backward().unwrap_err().to_string();
            assert!(err.contains("without saved activations"), "{err}");
        }
    }

    /// bf16 products in a training loop: the forward pass and the gradients stay near the
    /// f32 ones, and plain gradient descent still lowers the loss. bf16 keeps 8 significant
    /// bits (2^-9 relative per factor); summed over many terms of both signs the errors
    /// average out to a few 1e-3 of a gradient (measured: at most 0.0032 here), so 0.02 leaves
    /// room and still fails for a wrong product (errors of order one). The hardware kernel where the CPU has one, else the emulation.
    #[test]
    fn a_bf16_training_loop_tracks_f32_and_lowers_the_loss() {
        use crate::model::bf16::{Kernel, Products};
        let dev = Device::Cpu;
        let cfg = BertConfig::sized(50, 32, 2, 4, 64);
        let ids = Tensor::new(&[[1u32, 7, 9, 3, 4, 0], [2, 8, 8, 8, 1, 5]], &dev).unwrap();
        let mask = ids.ne(0u32).unwrap().to_dtype(candle_core::DType::F32).unwrap();
        let target = Tensor::randn(0f32, 1.0, (2, 6, 32), &dev).unwrap();
        let bf16 = Products::Bf16(Kernel::hardware().unwrap_or(Kernel::Emulated));
        let run = |products: Products, steps: usize| {
            let store = ParamStore::new(HashMap::new(), 7, &dev);
            let mut model = BertModel::load(store.var_builder(), &cfg).unwrap();
            model.set_products(products);
            let mut losses = Vec::new();
            let mut first_grads = None;
            for _ in 0..steps {
                let out = model.forward(&ids, &mask, Mode::Eval, BertAttentions::Skip).unwrap();
                let loss = (&out.last_hidden_state - &target)
                    .unwrap()
                    .sqr()
                    .unwrap()
                    .mean_all()
                    .unwrap();
                losses.push(loss.to_scalar::<f32>().unwrap());
                let grads = gradients(&model, &loss);
                for (_, var) in store.vars() {
                    if let Some(g) = grads.get(var.as_tensor()) {
                        var.set(&(var.as_tensor() - (g * 0.5).unwrap()).unwrap()).unwrap();
                    }
                }
                if first_grads.is_none() {
                    let named: Vec<(String, Tensor)> = store
                        .vars()
                        .into_iter()
                        .filter_map(|(n, v)| grads.get(v.as_tensor()).map(|g| (n, g.clone())))
                        .collect();
                    first_grads = Some(named);
                }
            }
            (losses, first_grads.unwrap())
        };
        let (f32_losses, f32_grads) = run(Products::F32, 1);
        let (losses, grads) = run(bf16, 30);
        let rel = (losses[0] - f32_losses[0]).abs() / f32_losses[0];
        assert!(
            rel < 1e-3,
            "first loss: bf16 {} against f32 {}",
            losses[0],
            f32_losses[0]
        );
        assert_eq!(grads.len(), f32_grads.len(), "parameters with gradients");
        let expected: HashMap<&String, &Tensor> = f32_grads.iter().map(|(n, g)| (n, g)).collect();
        for (name, g) in &grads {
            let d = relative_diff(g, expected[name]);
            println!("gradient of {name}: bf16 differs from f32 by {d:.5}");
            assert!(d < 0.02, "gradient of {name}: bf16 differs from f32 by {d}");
        }
        println!(
            "bf16 loss {} -> {}, f32 first loss {}",
            losses[0],
            losses[losses.len() - 1],
            f32_losses[0]
        );
        let last = *losses.last().unwrap();
        assert!(last < 0.8 * losses[0], "bf16 training: loss {} -> {last}", losses[0]);
    }
}
