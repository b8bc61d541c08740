//! A font for the figure characters the embedded DejaVu Sans lacks (Chinese text of CH-SIMS
//! above all): one of the system's fonts (fontdb: fontconfig's directories on Linux, the
//! usual ones on macOS and Windows), or the file or directory named by `CMBERT_FONT`, checked
//! to have a glyph for every such character. No CJK font ships in the binary: one is 10-20 MB.

use std::path::{Path, PathBuf};

use ab_glyph::{Font as _, FontArc, FontRef, FontVec};

/// The environment variable naming a font file (or a directory of fonts) to take the glyphs
/// DejaVu Sans lacks from, in place of the system's fonts.
pub const FONT_ENV: &str = "CMBERT_FONT";

/// What to tell a user without a font for their text.
const INSTALL: &str =
    "install a CJK font (apt install fonts-noto-cjk, or fonts-wqy-zenhei) or name a font file with CMBERT_FONT=FILE";

/// Where to look for a font.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontSearch {
    /// The system's fonts.
    System,
    /// A font file, or a directory searched (recursively) in place of the system's fonts.
    Named(PathBuf),
}

impl FontSearch {
    /// `CMBERT_FONT` when set (and not empty), else the system's fonts.
    pub fn from_env() -> Self {
        match std::env::var_os(FONT_ENV).filter(|v| !v.is_empty()) {
            Some(path) => Self::Named(PathBuf::from(path)),
            None => Self::System,
        }
    }
}

/// No font to draw a figure's text with; one line naming the characters and what to do.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// No system font has the glyphs.
    #[error("no font on this system has glyphs for {chars} (in the figure's text): {INSTALL}")]
    NotOnSystem {
        /// The characters, quoted (the first few).
        chars: String,
    },
    /// No font in the directory named by `CMBERT_FONT` has them.
    #[error("no font in {} (named by CMBERT_FONT) has glyphs for {chars} (in the figure's text): {INSTALL}", dir.display())]
    NotInDir {
        /// The directory.
        dir: PathBuf,
        /// The characters, quoted (the first few).
        chars: String,
    },
    /// The font file named by `CMBERT_FONT` lacks them.
    #[error("{} (named by CMBERT_FONT) has no glyphs for {chars} (in the figure's text): name a font that has them, or unset CMBERT_FONT to search the system's fonts", path.display())]
    NotInFile {
        /// The font file.
        path: PathBuf,
        /// The characters, quoted (the first few).
        chars: String,
    },
    /// The file named by `CMBERT_FONT` cannot be read as a font.
    #[error("{} (named by CMBERT_FONT): cannot read it as a font: {message}; expected a .ttf, .otf or .ttc file", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// A face found for the characters.
pub struct Fallback {
    /// The face, owned.
    pub face: FontArc,
    /// Its family name, for the SVG's font-family.
    pub family: String,
}

/// Characters as an error shows them: the first eight, quoted.
fn quoted(missing: &[char]) -> String {
    let shown: String = missing.iter().take(8).collect();
    let more = if missing.len() > 8 { "…" } else { "" };
    format!("\"{shown}{more}\"")
}

/// The face that has every one of `missing` (not empty), found as `search` says. Among
/// several, the regular upright proportional one first, then by family name and file, so
/// that the choice does not depend on the order directories are listed in.
pub fn find(missing: &[char], search: &FontSearch) -> Result<Fallback, FontError> {
    let mut db = fontdb::Database::new();
    match search {
        FontSearch::System => db.load_system_fonts(),
        FontSearch::Named(dir) if dir.is_dir() => db.load_fonts_dir(dir),
        FontSearch::Named(file) => {
            let unreadable = |message: String| FontError::Unreadable {
                path: file.clone(),
                message,
            };
            db.load_font_file(file).map_err(|e| unreadable(e.to_string()))?;
            if db.is_empty() {
                return Err(unreadable("no font face in it".into()));
            }
        }
    }
    let covers = |data: &[u8], index: u32| {
        FontRef::try_from_slice_and_index(data, index).is_ok_and(|f| missing.iter().all(|&c| f.glyph_id(c).0 != 0))
    };
    let best = db
        .faces()
        .filter(|face| db.with_face_data(face.id, |d, i| covers(d, i)).unwrap_or(false))
        .min_by_key(|face| {
            let family = face.families.first().map(|f| f.0.clone()).unwrap_or_default();
            (
                face.weight.0.abs_diff(fontdb::Weight::NORMAL.0),
                face.style != fontdb::Style::Normal,
                face.monospaced,
                family,
                source_path(&face.source).map(Path::to_path_buf),
                face.index,
            )
        });
    let Some(face) = best else {
        let chars = quoted(missing);
        return Err(match search {
            FontSearch::System => FontError::NotOnSystem { chars },
            FontSearch::Named(p) if p.is_dir() => FontError::NotInDir { dir: p.clone(), chars },
            FontSearch::Named(p) => FontError::NotInFile { path: p.clone(), chars },
        });
    };
    let family = face.families.first().map(|f| f.0.clone()).unwrap_or_default();
    let path = source_path(&face.source).map(Path::to_path_buf).unwrap_or_default();
    let owned = db
        .with_face_data(face.id, |data, index| {
            FontVec::try_from_vec_and_index(data.to_vec(), index)
        })
        .ok_or_else(|| FontError::Unreadable {
            path: path.clone(),
            message: "the file went away while it was read".into(),
        })?
        .map_err(|e| FontError::Unreadable {
            path,
            message: e.to_string(),
        })?;
    Ok(Fallback {
        face: FontArc::new(owned),
        family,
    })
}

fn source_path(source: &fontdb::Source) -> Option<&Path> {
    match source {
        fontdb::Source::File(p) | fontdb::Source::SharedFile(p, _) => Some(p),
        fontdb::Source::Binary(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_directory_or_a_file_that_is_no_font_is_one_clear_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = find(&['我', '很'], &FontSearch::Named(dir.path().to_path_buf()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&dir.path().display().to_string())
                && err.contains("\"我很\"")
                && err.contains("apt install fonts-noto-cjk")
                && !err.contains('\n'),
            "{err}"
        );
        let file = dir.path().join("notes.ttf");
        std::fs::write(&file, "not a font").unwrap();
        let err = find(&['我'], &FontSearch::Named(file.clone()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("notes.ttf") && err.contains("cannot read it as a font"),
            "{err}"
        );
        let many: Vec<char> = "我很喜欢这部电影太好了".chars().collect();
        assert_eq!(quoted(&many), "\"我很喜欢这部电影…\"");
    }

    #[test]
    fn a_named_font_file_without_the_glyphs_says_so() {
        // DejaVu Sans (the embedded font) has Latin but no Chinese.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fonts/DejaVuSans.ttf");
        let err = find(&['我'], &FontSearch::Named(path.clone()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("DejaVuSans.ttf") && err.contains("has no glyphs for \"我\""),
            "{err}"
        );
        let found = find(&['é'], &FontSearch::Named(path)).unwrap();
        assert_eq!(found.family, "DejaVu Sans");
    }

    /// The figure of a Chinese utterance, drawn with the system's CJK font (.ci/run installs
    /// fonts-wqy-zenhei): each character's own glyph where its labels are, not DejaVu's
    /// empty box (which would be the same for every character), and its family in the SVG.
    #[test]
    fn chinese_labels_are_drawn_with_a_font_that_has_them() {
        use crate::data::Split;
        use crate::export::figure::Figure;
        use crate::export::tests::{meta, snapshot};
        use crate::export::{Item, Style};

        let mut s = snapshot(3);
        s.tokens = ["[CLS]", "我", "很", "好", "[SEP]"].map(String::from).to_vec();
        s.words = ["我", "很", "好"].map(String::from).to_vec();
        s.token_words = vec![None, Some(0), Some(1), Some(2), None];
        let items = [Item {
            snapshot: &s,
            text: "我很好",
            split: Split::Test,
            recording: None,
        }];
        let fig = Figure::new(&items, &meta(), &Style::default()).unwrap();
        let layout = fig.layout().clone();
        let mut reader = png::Decoder::new(std::io::Cursor::new(fig.png().unwrap()))
            .read_info()
            .unwrap();
        let mut px = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut px).unwrap();
        let w = layout.width as usize;
        let map = layout.rows[0].heatmaps[0];
        // The ink of row r's label: the band left of the heatmap, the row's height.
        let ink = |r: usize| -> Vec<(i32, i32)> {
            let (_, cy) = map.cell_center(r, 0);
            let mut dark = Vec::new();
            for dy in -map.cell / 2..map.cell / 2 {
                for x in (map.x - 80).max(0)..map.x - 2 {
                    let i = ((cy + dy) as usize * w + x as usize) * 3;
                    if px[i] < 128 && px[i + 1] < 128 && px[i + 2] < 128 {
                        dark.push((x, dy));
                    }
                }
            }
            dark
        };
        let row = |label: &str| {
            (0..map.n)
                .find(|&r| s.tokens.get(r).is_some_and(|t| t == label))
                .unwrap()
        };
        let (wo, hen, hao) = (ink(row("我")), ink(row("很")), ink(row("好")));
        assert!(
            wo.len() > 40 && hen.len() > 40 && hao.len() > 40,
            "{} {} {}",
            wo.len(),
            hen.len(),
            hao.len()
        );
        assert!(wo != hen && hen != hao && wo != hao, "three characters, three glyphs");
        let family = find(&['我', '很', '好'], &FontSearch::System).unwrap().family;
        let svg = fig.svg().unwrap();
        assert!(svg.contains(&format!("DejaVu Sans, {family}, sans-serif")), "{family}");
        assert!(svg.contains(">\n我\n</text>"), "the SVG keeps the characters");
    }
}
