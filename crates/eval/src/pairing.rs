//! Pairing expected items with actual ones, each actual item used once: partial JSON
//! arrays and XML children compare this way, whatever their order. Greedy pairing is not
//! enough (`[{a}, {a,b}]` against `[{a,b}, {a}]`), so this finds a maximum bipartite
//! matching by augmenting paths, on a budget.

use crate::Budget;

/// Whether each of `expected` can be paired with a distinct element of `actual` that
/// `fits` it (a maximum bipartite matching by augmenting paths). Spends one unit per
/// candidate pair tested and per edge followed while augmenting, and fails once the
/// budget is gone.
pub fn pair_all<E, A>(
    expected: &[E],
    actual: &[A],
    budget: &Budget,
    fits: impl Fn(&E, &A) -> bool,
) -> bool {
    let mut edges: Vec<Vec<usize>> = Vec::with_capacity(expected.len());
    for e in expected {
        let mut fitting = Vec::new();
        for (i, a) in actual.iter().enumerate() {
            if !budget.spend(1) {
                return false;
            }
            if fits(e, a) {
                fitting.push(i);
            }
        }
        edges.push(fitting);
    }
    let mut owner: Vec<Option<usize>> = vec![None; actual.len()];
    let mut seen = vec![false; actual.len()];
    (0..expected.len()).all(|e| {
        take_free(e, &edges, &mut owner, budget) || {
            seen.fill(false);
            augment(e, &edges, &mut owner, &mut seen, budget)
        }
    })
}

/// Pairs expected item `e` with a fitting actual item that is still free, if there is
/// one. Trying this before searching for an augmenting path keeps lists of many
/// interchangeable children (the common case) quadratic rather than cubic.
fn take_free(e: usize, edges: &[Vec<usize>], owner: &mut [Option<usize>], budget: &Budget) -> bool {
    for &a in &edges[e] {
        if !budget.spend(1) {
            return false;
        }
        if owner[a].is_none() {
            owner[a] = Some(e);
            return true;
        }
    }
    false
}

/// Looks for an augmenting path from expected item `start` and flips it. The search is
/// a depth-first walk kept on an explicit stack, since a path may run through every
/// expected item and a recursive walk would use as much stack.
fn augment(
    start: usize,
    edges: &[Vec<usize>],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
    budget: &Budget,
) -> bool {
    // Each entry is an expected item on the current path and how many of its edges have
    // been tried; the last one tried is the edge the path continues along.
    let mut path: Vec<(usize, usize)> = vec![(start, 0)];
    while let Some(&mut (e, ref mut tried)) = path.last_mut() {
        let Some(&a) = edges[e].get(*tried) else {
            path.pop();
            continue;
        };
        *tried += 1;
        if !budget.spend(1) {
            return false;
        }
        if seen[a] {
            continue;
        }
        seen[a] = true;
        match owner[a] {
            Some(other) => path.push((other, 0)),
            None => {
                for &(e, tried) in &path {
                    owner[edges[e][tried - 1]] = Some(e);
                }
                return true;
            }
        }
    }
    false
}
