//! Test support: reading a published study (docs/results/<study>/): the link the summary stores for a
//! variant and the final validation losses its runs.csv stores, for the tests that
//! check a study link reproduces the study, natively and in the browser.

use histinit_core::InitMethod;

/// The link `summary.json` stores for `variant`.
pub fn variant_link(summary_json: &str, variant: &str) -> Option<String> {
    let summary: serde_json::Value = serde_json::from_str(summary_json).ok()?;
    summary["variants"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == variant)?["link"]
        .as_str()
        .map(str::to_string)
}

/// The final validation loss `runs.csv` stores for (`variant`, `init`, `seed`).
pub fn stored_final_val_loss(
    runs_csv: &str,
    variant: &str,
    init: InitMethod,
    seed: u64,
) -> Option<f64> {
    let mut lines = runs_csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (v, i, s, f) = (
        column("variant")?,
        column("init")?,
        column("seed")?,
        column("final_val_loss")?,
    );
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find_map(|row| {
            (row.get(v) == Some(&variant)
                && row.get(i) == Some(&init.name())
                && row.get(s).and_then(|x| x.parse::<u64>().ok()) == Some(seed))
            .then(|| row.get(f)?.parse().ok())?
        })
}
