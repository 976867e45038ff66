//! Which lines an edit changed: a line diff (Myers' greedy algorithm) between two versions of a
//! file, bounded so that a large rewrite gives up early instead of costing quadratic time.

use std::ops::Range;

/// Byte offsets where each line starts, and the text's length at the end: line `k` is
/// `starts[k]..starts[k + 1]` (its `\n` included).
pub(super) fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::with_capacity(text.len() / 32 + 2);
    starts.push(0);
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    if starts.last() != Some(&text.len()) {
        starts.push(text.len());
    }
    starts
}

/// Old lines `old` were replaced by new lines `new` (either may be empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Hunk {
    pub(super) old: Range<usize>,
    pub(super) new: Range<usize>,
}

/// The changed lines between two texts (line starts from [`line_starts`]), in order; `None`
/// when more than `max_edits` lines were inserted or deleted.
pub(super) fn changed_lines(
    old: &str,
    old_starts: &[usize],
    new: &str,
    new_starts: &[usize],
    max_edits: usize,
) -> Option<Vec<Hunk>> {
    fn line<'t>(text: &'t str, starts: &[usize], k: usize) -> &'t str {
        text.get(starts[k]..starts[k + 1]).unwrap_or_default()
    }
    let (n, m) = (old_starts.len() - 1, new_starts.len() - 1);
    let mut head = 0;
    while head < n.min(m) && line(old, old_starts, head) == line(new, new_starts, head) {
        head += 1;
    }
    let mut tail = 0;
    while tail < (n - head).min(m - head) && line(old, old_starts, n - 1 - tail) == line(new, new_starts, m - 1 - tail)
    {
        tail += 1;
    }
    let a: Vec<&str> = (head..n - tail).map(|k| line(old, old_starts, k)).collect();
    let b: Vec<&str> = (head..m - tail).map(|k| line(new, new_starts, k)).collect();
    let mut hunks = myers(&a, &b, max_edits)?;
    for hunk in &mut hunks {
        hunk.old = hunk.old.start + head..hunk.old.end + head;
        hunk.new = hunk.new.start + head..hunk.new.end + head;
    }
    Some(hunks)
}

/// Myers' O((N+M)·D) diff of `a` and `b`, as hunks; `None` when D exceeds `max_edits`.
fn myers(a: &[&str], b: &[&str], max_edits: usize) -> Option<Vec<Hunk>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (a.len() + b.len()).min(max_edits) as isize;
    let offset = max + 1;
    let mut v = vec![0isize; 2 * max as usize + 3];
    // trace[d] is `v` as it stood before round d: what backtracking reads.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=max {
        trace.push(v.clone());
        for k in (-d..=d).step_by(2) {
            let at = |k: isize| (k + offset) as usize;
            let mut x =
                if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) { v[at(k + 1)] } else { v[at(k - 1)] + 1 };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                return Some(backtrack(&trace, n, m, offset));
            }
        }
    }
    None
}

/// The edit path found by [`myers`], read backwards from the end, grouped into hunks.
fn backtrack(trace: &[Vec<isize>], n: isize, m: isize, offset: isize) -> Vec<Hunk> {
    // Each edit: (old index, new index, deletes an old line).
    let mut edits: Vec<(usize, usize, bool)> = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..trace.len() as isize).rev() {
        let v = &trace[d as usize];
        let at = |k: isize| (k + offset) as usize;
        let k = x - y;
        let prev_k = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) { k + 1 } else { k - 1 };
        let prev_x = v[at(prev_k)];
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
        }
        if x == prev_x {
            edits.push((prev_x as usize, prev_y as usize, false));
        } else {
            edits.push((prev_x as usize, prev_y as usize, true));
        }
        x = prev_x;
        y = prev_y;
    }
    edits.reverse();
    let mut hunks: Vec<Hunk> = Vec::new();
    for (x, y, delete) in edits {
        let (old_end, new_end) = if delete { (x + 1, y) } else { (x, y + 1) };
        match hunks.last_mut() {
            Some(last) if last.old.end == x && last.new.end == y => {
                last.old.end = old_end;
                last.new.end = new_end;
            }
            _ => hunks.push(Hunk { old: x..old_end, new: y..new_end }),
        }
    }
    hunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(old: &str, new: &str) -> Vec<(Range<usize>, Range<usize>)> {
        let hunks = changed_lines(old, &line_starts(old), new, &line_starts(new), 100).expect("within bound");
        hunks.into_iter().map(|h| (h.old, h.new)).collect()
    }

    #[test]
    fn hunks_are_the_changed_lines() {
        assert_eq!(diff("a\nb\nc\n", "a\nb\nc\n"), vec![]);
        assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), vec![(1..2, 1..2)]);
        assert_eq!(diff("a\nb\nc\n", "a\nc\n"), vec![(1..2, 1..1)]);
        assert_eq!(diff("a\nc\n", "a\nb\nc\n"), vec![(1..1, 1..2)]);
        assert_eq!(diff("a\nb\nc\nd\ne\n", "x\na\nb\nc\nd\ny\n"), vec![(0..0, 0..1), (4..5, 5..6)]);
        assert_eq!(diff("a\nb", "a\nb\n"), vec![(1..2, 1..2)]);
        assert_eq!(diff("", "a\n"), vec![(0..0, 0..1)]);
    }

    #[test]
    fn a_large_rewrite_gives_up() {
        let old: String = (0..50).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..50).map(|i| format!("b{i}\n")).collect();
        assert!(changed_lines(&old, &line_starts(&old), &new, &line_starts(&new), 20).is_none());
    }
}
