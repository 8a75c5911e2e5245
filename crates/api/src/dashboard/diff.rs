//! What changed between two versions of a plan's text, line by line, for the history page.

/// One line of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// In both versions.
    Same(&'a str),
    /// Only in the older version.
    Removed(&'a str),
    /// Only in the newer version.
    Added(&'a str),
}

/// The most cells of the comparison table computed; longer texts are shown as the whole old
/// text removed and the whole new one added. A plan holds at most 4,000 characters, so this
/// only bounds pathological input (thousands of one-character lines on both sides).
const MAX_CELLS: usize = 1 << 20;

/// The lines of `old` and `new`, in order, marked as kept, removed or added (a longest
/// common subsequence of lines).
pub(crate) fn lines<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    // Lines shared at both ends need no table.
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut out: Vec<Line<'a>> = old[..prefix].iter().map(|l| Line::Same(l)).collect();
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_CELLS {
        out.extend(a.iter().map(|l| Line::Removed(l)));
        out.extend(b.iter().map(|l| Line::Added(l)));
    } else {
        // table[i][j]: the longest common subsequence of a[i..] and b[j..].
        let width = b.len() + 1;
        let mut table = vec![0u32; (a.len() + 1) * width];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                table[i * width + j] = if a[i] == b[j] {
                    table[(i + 1) * width + j + 1] + 1
                } else {
                    table[(i + 1) * width + j].max(table[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if a[i] == b[j] {
                out.push(Line::Same(a[i]));
                i += 1;
                j += 1;
            } else if table[(i + 1) * width + j] >= table[i * width + j + 1] {
                out.push(Line::Removed(a[i]));
                i += 1;
            } else {
                out.push(Line::Added(b[j]));
                j += 1;
            }
        }
        out.extend(a[i..].iter().map(|l| Line::Removed(l)));
        out.extend(b[j..].iter().map(|l| Line::Added(l)));
    }
    out.extend(old[old.len() - suffix..].iter().map(|l| Line::Same(l)));
    out
}

#[cfg(test)]
mod tests {
    use super::Line::{Added, Removed, Same};
    use super::lines;

    #[test]
    fn changed_lines_are_marked_and_the_rest_kept() {
        assert_eq!(
            lines(
                "NVDA above 950\nstop 920\nsize 1/2",
                "NVDA above 960\nstop 920\nsize 1/2\nadd on dips"
            ),
            vec![
                Removed("NVDA above 950"),
                Added("NVDA above 960"),
                Same("stop 920"),
                Same("size 1/2"),
                Added("add on dips"),
            ]
        );
    }

    #[test]
    fn identical_and_empty_texts() {
        assert_eq!(lines("a\nb", "a\nb"), vec![Same("a"), Same("b")]);
        assert_eq!(lines("", "a"), vec![Added("a")]);
        assert_eq!(lines("a", ""), vec![Removed("a")]);
    }

    #[test]
    fn a_huge_comparison_falls_back_to_old_and_new_in_full() {
        let old = "x\n".repeat(2000);
        let new = "y\n".repeat(2000);
        let out = lines(&old, &new);
        assert_eq!(out.len(), 4000);
        assert_eq!(out[0], Removed("x"));
        assert_eq!(out[3999], Added("y"));
    }
}
