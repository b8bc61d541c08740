//! Words that fit their panel and numbers worded for reading.
//!
//! Panels wrap long values at spaces rather than cutting them at the border: a cut line
//! showed "(1284/229/686" and "zero au" (issue 20). A path wider than its line is shortened
//! from the left so that its file name stays ("…/run1/best"); other words are never cut
//! unless one alone is wider than the line.

use std::time::Duration;

use ratatui::text::Span;

/// Display width in terminal columns.
pub fn cols(s: &str) -> usize {
    Span::raw(s).width()
}

/// The first characters of `s` that fit in `width` columns (a wide character that would
/// straddle the edge is left out).
pub fn first_cols(s: &str, width: usize) -> String {
    let mut used = 0;
    s.chars()
        .take_while(|c| {
            used += cols(c.encode_utf8(&mut [0; 4]));
            used <= width
        })
        .collect()
}

/// `s` right-aligned in `width` columns: `format!("{:>w$}")` counts characters, and a CJK
/// character is two columns wide.
pub fn pad_left(s: &str, width: usize) -> String {
    format!("{}{s}", " ".repeat(width.saturating_sub(cols(s))))
}

/// How a value with paths in it may be fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paths {
    /// Paths kept whole; only one wider than a line is shortened.
    Whole,
    /// Paths shortened from the left when that keeps the value on one line.
    Shorten,
}

/// A word is a path when it has a `/` and a letter: "(1284/229/686)" is counts, not a path.
fn is_path(word: &str) -> bool {
    word.contains('/') && word.chars().any(char::is_alphabetic)
}

/// `path` in at most `width` columns: "…/" and as many of its last components as fit, or
/// the end of its last component when even that is too wide.
pub fn shorten_path(path: &str, width: usize) -> String {
    if cols(path) <= width {
        return path.to_string();
    }
    let mut tail = String::new();
    for part in path.trim_end_matches('/').rsplit('/') {
        let candidate = if tail.is_empty() {
            part.to_string()
        } else {
            format!("{part}/{tail}")
        };
        // A trailing "/" (a directory such as "best/") is kept when it fits.
        let shown = if path.ends_with('/') {
            format!("{candidate}/")
        } else {
            candidate.clone()
        };
        if cols(&shown) + 2 > width {
            break;
        }
        tail = candidate;
    }
    if tail.is_empty() {
        return format!("…{}", last_cols(path, width.saturating_sub(1)));
    }
    let slash = if path.ends_with('/') && cols(&tail) + 3 <= width {
        "/"
    } else {
        ""
    };
    format!("…/{tail}{slash}")
}

/// The last characters of `s` that fit in `width` columns.
fn last_cols(s: &str, width: usize) -> String {
    let mut kept: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = cols(c.encode_utf8(&mut [0; 4]));
        if used + w > width {
            break;
        }
        used += w;
        kept.push(c);
    }
    kept.into_iter().rev().collect()
}

/// Pieces of at most `width` columns (at least one character each).
fn chunks(word: &str, width: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in word.chars() {
        let last = out.last_mut().expect("never empty");
        if !last.is_empty() && cols(last) + cols(c.encode_utf8(&mut [0; 4])) > width {
            out.push(String::new());
        }
        out.last_mut().expect("never empty").push(c);
    }
    out
}

/// The words of `text` with the spaces before each (kept within a line: "12/12   step").
fn words(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.len() - rest.trim_start_matches(' ').len();
        let end = rest[start..].find(' ').map_or(rest.len(), |i| start + i);
        if start < end {
            out.push((&rest[..start], &rest[start..end]));
        }
        rest = &rest[end..];
    }
    out
}

/// The shortest form a path takes: "…/" and its file name.
fn least_path(path: &str) -> String {
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or(path);
    shorten_path(path, cols(name) + 2 + usize::from(path.ends_with('/')))
}

/// `text` with every path in its shortest form, the spaces kept.
fn least_paths(text: &str) -> String {
    words(text)
        .into_iter()
        .enumerate()
        .map(|(i, (space, word))| {
            let word = if is_path(word) {
                least_path(word)
            } else {
                word.to_string()
            };
            if i == 0 {
                word
            } else {
                format!("{space}{word}")
            }
        })
        .collect()
}

/// `text` on one line of `width` columns by shortening its paths, longest first, each by no
/// more than needed; `None` when it cannot fit.
fn one_line(text: &str, width: usize) -> Option<String> {
    let mut parts: Vec<(String, String)> = words(text)
        .into_iter()
        .map(|(s, w)| (s.to_string(), w.to_string()))
        .collect();
    let total = |parts: &[(String, String)]| -> usize {
        parts
            .iter()
            .enumerate()
            .map(|(i, (s, w))| if i == 0 { 0 } else { cols(s) } + cols(w))
            .sum()
    };
    let mut by_width: Vec<usize> = (0..parts.len()).filter(|&i| is_path(&parts[i].1)).collect();
    by_width.sort_by_key(|&i| std::cmp::Reverse(cols(&parts[i].1)));
    for i in by_width {
        let excess = total(&parts).saturating_sub(width);
        if excess == 0 {
            break;
        }
        let w = cols(&parts[i].1);
        let least = cols(&least_path(&parts[i].1));
        parts[i].1 = shorten_path(&parts[i].1, w.saturating_sub(excess).max(least));
    }
    (total(&parts) <= width).then(|| {
        parts
            .iter()
            .enumerate()
            .map(|(i, (s, w))| if i == 0 { w.clone() } else { format!("{s}{w}") })
            .collect()
    })
}

/// Between the groups of a value ("12/12", "step 648/648").
pub const GAP: &str = "   ";

/// The groups of a value joined by [`GAP`], in lines of at most `width` columns. A line
/// breaks between groups where it can ("step" stays with its number), else between words.
pub fn wrap(groups: &[&str], width: usize, paths: Paths) -> Vec<String> {
    let width = width.max(1);
    let joined = groups.join(GAP);
    if cols(&joined) <= width {
        return vec![joined];
    }
    let whole = wrap_groups(groups, width);
    if paths == Paths::Whole {
        return whole;
    }
    if let Some(line) = one_line(&joined, width) {
        return vec![line];
    }
    // Too long for one line even so: every path as its file name, if that saves lines.
    let least: Vec<String> = groups.iter().map(|g| least_paths(g)).collect();
    let least = wrap_groups(&least.iter().map(String::as_str).collect::<Vec<_>>(), width);
    if least.len() < whole.len() {
        least
    } else {
        whole
    }
}

fn wrap_groups(groups: &[&str], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for group in groups {
        let mut own = wrap_words(group, width);
        if let ([only], Some(last)) = (own.as_slice(), lines.last_mut()) {
            if cols(last) + cols(GAP) + cols(only) <= width {
                last.push_str(GAP);
                last.push_str(only);
                continue;
            }
        }
        lines.append(&mut own);
    }
    lines
}

/// `text` broken at spaces into lines of at most `width` columns.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (space, word) in words(text) {
        let pieces = if cols(word) <= width {
            vec![word.to_string()]
        } else if is_path(word) {
            vec![shorten_path(word, width)]
        } else {
            chunks(word, width)
        };
        for piece in pieces {
            if line.is_empty() {
                line = piece;
            } else if cols(&line) + cols(space) + cols(&piece) <= width {
                line = format!("{line}{space}{piece}");
            } else {
                lines.push(std::mem::replace(&mut line, piece));
            }
        }
    }
    lines.push(line);
    lines
}

/// "1 update", "2 updates".
pub fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A learning rate: "0", "0.05", "2e-5", "1.5e-5" (not "0.00e0").
pub fn format_lr(lr: f64) -> String {
    if lr == 0.0 || !lr.is_finite() {
        return if lr == 0.0 { "0".into() } else { lr.to_string() };
    }
    if lr.abs() >= 0.01 {
        return trim_zeros(format!("{lr:.4}"));
    }
    let s = format!("{lr:.1e}");
    s.replace(".0e", "e")
}

/// A rate per second to three significant figures: "24.2", "153", "0.50" (not "24.1625").
pub fn format_rate(per_sec: f64) -> String {
    let a = per_sec.abs();
    if a >= 100.0 {
        format!("{per_sec:.0}")
    } else if a >= 10.0 {
        format!("{per_sec:.1}")
    } else {
        format!("{per_sec:.2}")
    }
}

/// A duration at the precision a reader needs: "12.5s", "3m07s", "2h05m". The app's status
/// panel and the commands' printouts share it.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{:.1}s", d.as_secs_f64()),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_keeps_numbers_whole() {
        let data = "/root/.cache/cmbert-tui/corpus-v1-seed1 (1284/229/686); audio zero";
        let lines = wrap(&[data], 45, Paths::Whole);
        assert_eq!(
            lines,
            ["/root/.cache/cmbert-tui/corpus-v1-seed1", "(1284/229/686); audio zero"]
        );
        assert!(lines.iter().all(|l| cols(l) <= 45));
        assert_eq!(
            wrap(&[data], 45, Paths::Shorten),
            ["…/corpus-v1-seed1 (1284/229/686); audio zero"],
            "shortened from the left to stay on one line, the file name kept"
        );
        let epoch = ["12/12", "step 648/648"];
        assert_eq!(wrap(&epoch, 40, Paths::Whole), ["12/12   step 648/648"]);
        // Too long for one line even with the paths shortened: the file names stay.
        let audio = "/root/.cache/cmbert-tui/corpus-v1-seed1 (1284/229/686); audio \
                     /root/.cache/cmbert-tui/corpus-v1-seed1/audio.jsonl (word-level JSON Lines, 5 dims)";
        assert_eq!(
            wrap(&[audio], 71, Paths::Shorten),
            [
                "…/corpus-v1-seed1 (1284/229/686); audio …/audio.jsonl (word-level JSON",
                "Lines, 5 dims)"
            ]
        );
        assert_eq!(wrap(&[audio], 71, Paths::Whole).len(), 3);
        assert_eq!(
            wrap(&epoch, 14, Paths::Whole),
            ["12/12", "step 648/648"],
            "not \"12/12   step\""
        );
        assert_eq!(
            wrap(&epoch, 8, Paths::Whole),
            ["12/12", "step", "648/648"],
            "a number is never cut"
        );
    }

    #[test]
    fn paths_lose_their_start_first() {
        assert_eq!(shorten_path("/tmp/b/run1/best", 16), "/tmp/b/run1/best");
        assert_eq!(shorten_path("/tmp/b/run1/best", 12), "…/run1/best");
        assert_eq!(shorten_path("/tmp/b/run1/best", 8), "…/best");
        assert_eq!(shorten_path("/tmp/b/run1/best", 4), "…est");
        assert_eq!(shorten_path("/tmp/b/run1/best/", 13), "…/run1/best/");
        assert_eq!(
            wrap(&["/a/very/long/path/to/file.json"], 12, Paths::Whole),
            ["…/file.json"]
        );
    }

    #[test]
    fn numbers_are_worded_for_reading() {
        assert_eq!(format_lr(0.0), "0");
        assert_eq!(format_lr(2e-5), "2e-5");
        assert_eq!(format_lr(1.5e-5), "1.5e-5");
        assert_eq!(format_lr(0.05), "0.05");
        assert_eq!(format_lr(0.5), "0.5");
        assert_eq!(format_rate(24.1625), "24.2");
        assert_eq!(format_rate(153.4), "153");
        assert_eq!(format_rate(0.5), "0.50");
        assert_eq!(plural(1, "update"), "1 update");
        assert_eq!(plural(2, "update"), "2 updates");
        assert_eq!(plural(0, "epoch"), "0 epochs");
        assert_eq!(format_duration(Duration::from_millis(12_500)), "12.5s");
        assert_eq!(format_duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(format_duration(Duration::from_secs(2 * 3600 + 5 * 60 + 59)), "2h05m");
    }
}
