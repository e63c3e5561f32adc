//! "Did you mean" suggestions: the closest candidate by edit distance.

/// The edit distance between `a` and `b` in chars, counting an insertion, a deletion, a
/// substitution or a swap of two neighbours (`dvi` -> `div`) as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `input`, if it is at most `max_distance` edits away. Ties go to
/// the candidate listed first.
pub fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    max_distance: usize,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(input, candidate), candidate))
        .filter(|(distance, _)| *distance <= max_distance)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// How many edits a typo of a `len`-char name may have: short names would match too much.
pub fn typo_budget(len: usize) -> usize {
    match len {
        0..=2 => 1,
        3..=4 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("on", "onn"), 1);
        assert_eq!(edit_distance("bnd", "bind"), 1);
        assert_eq!(edit_distance("prevnt", "prevent"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("dvi", "div"), 1);
    }

    #[test]
    fn closest_picks_the_nearest_candidate_within_budget() {
        assert_eq!(closest("dvi", ["span", "div", "dialog"], 2), Some("div"));
        assert_eq!(closest("zzzzzz", ["span", "div"], 2), None);
    }
}
