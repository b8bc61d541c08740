//! Parameter store: the `VarBuilder` backend through which every model is built.
//!
//! A requested tensor comes from the loaded checkpoint when present (shape-checked), and is
//! otherwise initialised from a seeded RNG (candle's CPU RNG cannot be seeded), so a run is
//! reproducible. Every tensor becomes a `Var`, i.e. trainable; freezing is the optimiser's
//! business.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::{var_builder::SimpleBackend, Init, VarBuilder};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};

#[derive(Debug)]
struct Inner {
    vars: BTreeMap<String, Var>,
    fresh: BTreeSet<String>,
    rng: StdRng,
}

/// Every parameter of a model, by canonical name: taken from the checkpoint or initialised
/// from a seeded RNG, each a trainable `Var`.
#[derive(Debug)]
pub struct ParamStore {
    initial: HashMap<String, Tensor>,
    inner: Mutex<Inner>,
    device: Device,
}

impl ParamStore {
    /// `initial`: tensors keyed by our canonical names (see `checkpoint`).
    pub fn new(initial: HashMap<String, Tensor>, seed: u64, device: &Device) -> Arc<Self> {
        Arc::new(Self {
            initial,
            inner: Mutex::new(Inner {
                vars: BTreeMap::new(),
                fresh: BTreeSet::new(),
                rng: StdRng::seed_from_u64(seed),
            }),
            device: device.clone(),
        })
    }

    /// The `VarBuilder` models load through (`CmBert::load`); each tensor asked for becomes a `Var` here.
    pub fn var_builder(self: &Arc<Self>) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(StoreRef(self.clone())), DType::F32, self.device.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// All parameters by name, in name order.
    pub fn vars(&self) -> BTreeMap<String, Var> {
        self.lock().vars.clone()
    }

    /// Parameters the checkpoint did not provide (freshly initialised).
    pub fn fresh(&self) -> Vec<String> {
        self.lock().fresh.iter().cloned().collect()
    }

    /// Checkpoint tensors the model did not ask for (e.g. `position_ids` buffers).
    pub fn unused(&self) -> Vec<String> {
        let inner = self.lock();
        let mut unused: Vec<String> = self
            .initial
            .keys()
            .filter(|k| !inner.vars.contains_key(*k))
            .cloned()
            .collect();
        unused.sort();
        unused
    }

    fn create(&self, shape: &Shape, name: &str, init: Init) -> Result<Tensor> {
        let mut inner = self.lock();
        if let Some(var) = inner.vars.get(name) {
            return Ok(var.as_tensor().clone());
        }
        let value = match self.initial.get(name) {
            Some(t) => {
                if t.shape() != shape {
                    candle_core::bail!(
                        "checkpoint tensor {name} has shape {:?}, the model needs {:?}",
                        t.dims(),
                        shape.dims()
                    );
                }
                // An integer tensor would convert without a word into other numbers.
                if !t.dtype().is_float() {
                    candle_core::bail!(
                        "checkpoint tensor {name} holds {:?} values, the model needs floating point (F32, F16, BF16)",
                        t.dtype()
                    );
                }
                t.to_dtype(DType::F32)?.to_device(&self.device)?
            }
            None => {
                inner.fresh.insert(name.to_string());
                sample(&init, shape, &mut inner.rng, &self.device)?
            }
        };
        let var = Var::from_tensor(&value)?;
        let tensor = var.as_tensor().clone();
        inner.vars.insert(name.to_string(), var);
        Ok(tensor)
    }
}

fn sample(init: &Init, shape: &Shape, rng: &mut StdRng, device: &Device) -> Result<Tensor> {
    let n = shape.elem_count();
    let values: Vec<f32> = match *init {
        Init::Const(v) => vec![v as f32; n],
        Init::Randn { mean, stdev } => {
            let dist = Normal::new(mean, stdev).map_err(candle_core::Error::wrap)?;
            (0..n).map(|_| dist.sample(rng) as f32).collect()
        }
        Init::Uniform { lo, up } => {
            let dist = Uniform::new(lo, up).map_err(candle_core::Error::wrap)?;
            (0..n).map(|_| dist.sample(rng) as f32).collect()
        }
        Init::Kaiming { .. } => {
            candle_core::bail!("Kaiming init is not used by BERT; give an explicit initialiser")
        }
    };
    Tensor::from_vec(values, shape, device)
}

struct StoreRef(Arc<ParamStore>);

impl SimpleBackend for StoreRef {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, _dev: &Device) -> Result<Tensor> {
        let t = self.0.create(&s, name, h)?;
        if dtype == DType::F32 {
            Ok(t)
        } else {
            t.to_dtype(dtype)
        }
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        let inner = self.0.lock();
        match inner.vars.get(name) {
            Some(v) => Ok(v.as_tensor().clone()),
            None => candle_core::bail!("parameter {name} requested without a shape before it was created"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.0.initial.contains_key(name) || self.0.lock().vars.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_values_win_and_missing_ones_are_seeded() -> Result<()> {
        let dev = Device::Cpu;
        let mut initial = HashMap::new();
        initial.insert("a.weight".to_string(), Tensor::new(&[1f32, 2.0], &dev)?);
        initial.insert("unused".to_string(), Tensor::new(&[0f32], &dev)?);
        let build = |seed| -> Result<(Vec<f32>, Vec<f32>, Arc<ParamStore>)> {
            let store = ParamStore::new(initial.clone(), seed, &dev);
            let vb = store.var_builder();
            let a = vb.pp("a").get_with_hints(2, "weight", Init::Const(0.0))?.to_vec1()?;
            let b = vb
                .get_with_hints(3, "b", Init::Randn { mean: 0.0, stdev: 1.0 })?
                .to_vec1()?;
            Ok((a, b, store))
        };
        let (a, b1, store) = build(3)?;
        assert_eq!(a, vec![1.0, 2.0]);
        assert_eq!(store.fresh(), vec!["b".to_string()]);
        assert_eq!(store.unused(), vec!["unused".to_string()]);
        let (_, b2, _) = build(3)?;
        let (_, b3, _) = build(4)?;
        assert_eq!(b1, b2);
        assert_ne!(b1, b3);
        Ok(())
    }

    #[test]
    fn wrong_shape_names_the_tensor() {
        let dev = Device::Cpu;
        let mut initial = HashMap::new();
        initial.insert("w".to_string(), Tensor::new(&[1f32, 2.0], &dev).unwrap());
        let store = ParamStore::new(initial, 0, &dev);
        let err = store
            .var_builder()
            .get_with_hints(3, "w", Init::Const(0.0))
            .unwrap_err();
        assert!(err.to_string().contains("w has shape [2]"), "{err}");
    }
}
