//! Test support: a prepared session trained to the end through the page's own step
//! loop (`step_run` on the run `next_run` picks, as the worker does), natively.

use std::cell::RefCell;

use histinit_web::session::{step_run, SessionState, StepReport};

/// Trains every run of `state` to its last step; the step reports in the order made.
pub fn train_to_end(state: &RefCell<SessionState>) -> Vec<StepReport> {
    let mut reports = Vec::new();
    loop {
        let next = state.borrow().next_run();
        let Some(index) = next else {
            return reports;
        };
        reports.push(pollster::block_on(step_run(state, index)).unwrap());
    }
}
