//! Where runs train: the backends a build has, and their devices.

use clap::ValueEnum;
use histinit_core::burn::tensor::Device;

#[derive(
    Clone, Copy, ValueEnum, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's CPU backend (flex): deterministic, the page's fallback.
    #[default]
    Cpu,
    /// Burn's wgpu backend: a real GPU, or Mesa's lavapipe in software.
    Wgpu,
    /// Burn's LibTorch backend (PyTorch's own kernels): the first CUDA GPU LibTorch sees,
    /// else its CPU. Only in builds with `--features libtorch` (docs/benchmarks.md).
    Libtorch,
}

impl Backend {
    /// The name `--backend` takes (clap's, so the two cannot differ).
    pub fn name(self) -> String {
        self.to_possible_value()
            .expect("every backend is a value of --backend")
            .get_name()
            .to_string()
    }

    /// The link's name for it (a link has none for LibTorch, which the page cannot run).
    pub fn link_choice(self) -> histinit_core::experiment::BackendChoice {
        match self {
            Backend::Cpu | Backend::Libtorch => Default::default(),
            Backend::Wgpu => histinit_core::experiment::BackendChoice::Webgpu,
        }
    }
}

/// A backend this build does not have.
#[derive(Debug, thiserror::Error)]
#[error("backend: {0}")]
pub struct DeviceError(String);

/// The device `backend` trains on.
pub fn device(backend: Backend) -> Result<Device, DeviceError> {
    match backend {
        Backend::Cpu => Ok(histinit_core::cpu_device()),
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => Ok(Device::wgpu(Default::default()).autodiff()),
        #[cfg(not(feature = "wgpu"))]
        Backend::Wgpu => Err(DeviceError(
            "this build has no wgpu backend (build with --features wgpu)".into(),
        )),
        #[cfg(feature = "libtorch")]
        Backend::Libtorch => Ok(libtorch_device().autodiff()),
        #[cfg(not(feature = "libtorch"))]
        Backend::Libtorch => Err(DeviceError(
            "this build has no LibTorch backend: `benchmarks/libtorch.sh build` makes one (LibTorch \
             2.9 from PyPI, then `--features libtorch`), `benchmarks/libtorch.sh run ...` runs it"
                .into(),
        )),
    }
}

/// LibTorch's first CUDA device where it sees one, else its CPU. burn-tch is deprecated
/// upstream (Burn 0.22), hence the allow: it is kept behind a feature for measurements.
#[cfg(feature = "libtorch")]
#[allow(deprecated)]
fn libtorch_device() -> Device {
    Device::enumerate(histinit_core::burn::tensor::DeviceType::LibTorch)
        .into_iter()
        .next()
        .unwrap_or_else(Device::libtorch)
}
