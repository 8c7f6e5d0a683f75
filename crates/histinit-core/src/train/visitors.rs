//! The module visitors a step uses: gradient norms, clipping, shapes.

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Collects, in module order, the squared norm of each parameter's gradient.
pub(super) struct GradSquares<'a> {
    pub(super) grads: &'a GradientsParams,
    pub(super) squares: Vec<Option<Tensor<1>>>,
}

impl ModuleVisitor for GradSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.squares.push(
            self.grads
                .get::<D>(param.id)
                .map(|grad| grad.square().sum()),
        );
    }
}

/// Multiplies every gradient by a scalar tensor (global-norm clipping without read-back).
pub(super) struct ScaleGrads<'a> {
    pub(super) grads: &'a mut GradientsParams,
    pub(super) scale: Tensor<1>,
}

impl ModuleVisitor for ScaleGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads
                .register::<D>(param.id, grad * self.scale.clone().unsqueeze::<D>());
        }
    }
}

/// Each parameter's shape (Burn's layout, which the optimizer's moments have), in module order.
pub(super) struct ParamShapes(pub(super) Vec<Vec<usize>>);

impl ModuleVisitor for ParamShapes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().dims().to_vec());
    }
}
