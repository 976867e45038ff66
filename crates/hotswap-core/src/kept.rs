//! The lines an edit left alone at both ends of a file, so that what holds the old version's
//! lines (Python's `linecache`) can keep those and make only the ones in between anew: a
//! 50,000-line file is 50,000 strings.

/// Lines are split after each `\n` (the last one may lack it), as `str.split_inclusive('\n')`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeptLines {
    /// The old text's length in bytes and its number of lines.
    pub old_len: usize,
    pub old_lines: usize,
    /// Whole lines both texts start with, and their bytes.
    pub head: usize,
    pub head_bytes: usize,
    /// Whole lines both texts end with, and their bytes.
    pub tail: usize,
    pub tail_bytes: usize,
}

/// The lines `new` shares with `old` at its start and at its end (never overlapping).
pub fn kept_lines(old: &str, new: &str) -> KeptLines {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let prefix = common_prefix(a, b);
    let suffix = common_suffix(a, b).min(a.len().min(b.len()) - prefix);
    let head_bytes = a[..prefix].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    // The tail starts after a `\n` inside the common end, so it starts a line in both texts.
    let end = &a[a.len() - suffix..];
    let tail_bytes = end.iter().position(|&c| c == b'\n').map_or(0, |i| end.len() - i - 1);
    KeptLines {
        old_len: a.len(),
        old_lines: line_count(a),
        head: count_newlines(&a[..head_bytes]),
        head_bytes,
        tail: line_count(&a[a.len() - tail_bytes..]),
        tail_bytes,
    }
}

/// How many bytes `a` and `b` share at their start: 64-byte blocks first, then byte by byte.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 64 <= n && a[i..i + 64] == b[i..i + 64] {
        i += 64;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes `a` and `b` share at their end.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + 64 <= n && a[n - i - 64..n - i] == b[n - i - 64..n - i] {
        i += 64;
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&c| c == b'\n').count()
}

/// Lines as `split_inclusive('\n')` gives them.
pub fn line_count(bytes: &[u8]) -> usize {
    count_newlines(bytes) + usize::from(bytes.last().is_some_and(|&c| c != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(old: &str, new: &str) -> KeptLines {
        let kept = kept_lines(old, new);
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
        assert_eq!(kept.old_lines, old_lines.len());
        assert!(kept.head + kept.tail <= old_lines.len().min(new_lines.len()));
        assert_eq!(old_lines[..kept.head], new_lines[..kept.head]);
        assert_eq!(old_lines[old_lines.len() - kept.tail..], new_lines[new_lines.len() - kept.tail..]);
        assert_eq!(kept.head_bytes, old_lines[..kept.head].concat().len());
        assert_eq!(kept.tail_bytes, old_lines[old_lines.len() - kept.tail..].concat().len());
        kept
    }

    #[test]
    fn the_lines_both_ends_share() {
        let k = check("a\nb\nc\nd\n", "a\nb\nX\nd\n");
        assert_eq!((k.head, k.tail), (2, 1));
        let k = check("a\nb\n", "a\nb\n");
        assert_eq!(k.head + k.tail, 2);
        let k = check("a\nb", "a\nbc");
        assert_eq!((k.head, k.tail), (1, 0));
        let k = check("x = 1\n", "x = 10\n");
        assert_eq!((k.head, k.tail), (0, 0));
        check("", "a\n");
        check("a\n", "");
        check("aa\naa\naa\n", "aa\naa\n");
        check("ab\n", "b\n");
        check("\n\n\n", "\n\n");
        check("é\nb\n", "è\nb\n");
        let long: String = (0..300).map(|i| format!("line {i}\n")).collect();
        let k = check(&long, &long.replace("line 150\n", "line 150 changed\nand one more\n"));
        assert_eq!((k.head, k.tail), (150, 149));
        check(&long, &long[..long.len() - 1]);
    }
}
