use super::*;

#[test]
fn the_distribution_sample_is_capped_and_spans_the_tensor() {
    let values: Vec<f32> = (0..100_000).map(|i| i as f32).collect();
    let sample = evenly_spaced(values, 1000);
    assert_eq!(sample.len(), 1000);
    // One value from each window of 100, in order.
    for (i, &v) in sample.iter().enumerate() {
        assert!((100 * i..100 * (i + 1)).contains(&(v as usize)), "{i}: {v}");
    }
    // Two values per window: both places are taken about as often (a fixed place
    // would take only even indices: every other column of a matrix).
    let pairs: Vec<f32> = (0..2000).map(|i| i as f32).collect();
    let odd = evenly_spaced(pairs, 1000)
        .iter()
        .filter(|&&v| v as usize % 2 == 1)
        .count();
    assert!((400..=600).contains(&odd), "{odd} odd of 1000");
    let few = evenly_spaced(vec![1.0, 2.0], 1000);
    assert_eq!(few, vec![1.0, 2.0]);
}
