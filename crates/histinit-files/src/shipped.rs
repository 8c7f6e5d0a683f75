//! `www/histograms/index.json`: the histogram sources the page offers, as `histinit run`,
//! `histinit sweep` and `histinit site` read it.

use serde::Deserialize;

/// `www/histograms/index.json`: the files the page offers.
#[derive(Debug, Deserialize)]
pub struct ShippedIndex {
    pub version: u32,
    pub sources: Vec<ShippedSource>,
}

#[derive(Debug, Deserialize)]
pub struct ShippedSource {
    pub id: String,
    pub label: String,
    pub histogram: String,
    pub weights: Option<String>,
    pub trajectory: Option<String>,
}

impl ShippedSource {
    /// The files of this source (names in the index's folder), as the page may fetch them.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.histogram.as_str())
            .chain(self.weights.as_deref())
            .chain(self.trajectory.as_deref())
    }
}
