//! Exports of attention snapshots: paper-style figures (SVG, PNG; CM-BERT's Figure 4 shows
//! alpha_t beside W_m) and tables (JSON, CSV). One entry point for the CLI and the dashboard:
//! [`write`] to a chosen path, [`write_new`] to a fresh name in a directory.

pub mod curves;
pub mod figure;
pub mod fonts;
mod meta;
pub mod pair;
pub mod stress_pair;
pub mod table;
mod text;
pub mod through_training;

pub use meta::{AppMeta, CommandMeta, Meta, Source};

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::attention::{self, Level, Matrix, View};
use crate::colormap::{Colormap, Scale};
use crate::data::Split;
use crate::train::AttentionSnapshot;

/// A file format an export can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Figure: one row per utterance, two heatmaps side by side.
    Svg,
    /// The same figure as a bitmap (text drawn with an embedded font).
    Png,
    /// Metadata, raw matrices and the two views as drawn.
    Json,
    /// The two views in long form, one value per line.
    Csv,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 4] = [Self::Svg, Self::Png, Self::Json, Self::Csv];

    /// The file extension, which is also the name `--format` takes.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Svg => "svg",
            Self::Png => "png",
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }

    /// The format a file name asks for, from its extension (case-insensitive).
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|f| f.extension() == ext)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// One utterance to export.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// The matrices and predictions.
    pub snapshot: &'a AttentionSnapshot,
    /// The transcript, as titles and tables show it.
    pub text: &'a str,
    /// The split the utterance is in (`snapshot.index` is its place there).
    pub split: Split,
    /// `Some(wav)`: the utterance is this recording (`--wav`), named by its file in file
    /// names, figure titles and tables rather than by its place in `split`.
    pub recording: Option<&'a Path>,
}

impl Item<'_> {
    /// How titles name the utterance: `test #572`, or a recording's file name (`utt11.wav`).
    pub fn name(&self) -> String {
        match self.recording {
            Some(wav) => crate::data::recording_label(wav),
            None => format!("{} #{}", self.split, self.snapshot.index),
        }
    }
}

/// What the exports show and in which colours. The colour maps are values so that a theme
/// can supply its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// The left heatmap.
    pub left: Matrix,
    /// The right heatmap.
    pub right: Matrix,
    /// Word pieces or whole words.
    pub level: Level,
    /// Whether `[CLS]` and `[SEP]` are shown.
    pub show_special: bool,
    /// For non-negative matrices.
    pub sequential: Colormap,
    /// For signed matrices (W_f, the shift), centred on zero.
    pub diverging: Colormap,
}

impl Default for Style {
    /// The paper's Figure 4: text attention beside multimodal attention, per word, with the
    /// `[CLS]` row (the only one that reaches the score).
    fn default() -> Self {
        Self {
            left: Matrix::AlphaT,
            right: Matrix::WM,
            level: Level::Word,
            show_special: true,
            sequential: Colormap::blues(),
            diverging: Colormap::red_blue(),
        }
    }
}

impl Style {
    /// The colour map `matrix` is drawn with: diverging for signed matrices.
    pub fn colormap(&self, matrix: Matrix) -> &Colormap {
        if matrix.signed() {
            &self.diverging
        } else {
            &self.sequential
        }
    }

    /// The left and right views of one snapshot.
    pub fn views(&self, snapshot: &AttentionSnapshot) -> [View; 2] {
        [self.left, self.right].map(|m| attention::view(snapshot, m, self.level, self.show_special))
    }
}

/// The value-to-colour scale a view is drawn with.
pub fn scale(view: &View) -> Scale {
    Scale::for_range(view.range(), view.matrix.signed())
}

/// How files and messages name a level: `piece`, `word`.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Piece => "piece",
        Level::Word => "word",
    }
}

#[derive(Debug, thiserror::Error)]
/// Why an export could not be written.
pub enum ExportError {
    #[error("nothing to export: no utterances were given")]
    /// No utterance to export.
    Empty,
    #[error("cannot write {}: {source}", path.display())]
    /// Reading or writing a file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// A PNG over 60 million pixels, refused rather than allocated.
    #[error(
        "the figure would be {width}x{height} pixels (a heatmap of {tokens} rows); export it at word \
level, without the special tokens, or as SVG, JSON or CSV"
    )]
    TooLarge {
        /// Pixels across.
        width: u32,
        /// Pixels down.
        height: u32,
        /// Rows of the largest heatmap.
        tokens: usize,
    },
    #[error("the embedded font cannot be read")]
    /// The font built into the binary is unreadable.
    Font,
    /// No font has glyphs for some of the figure's characters (export::fonts).
    #[error(transparent)]
    NoFont(#[from] fonts::FontError),
    #[error("cannot draw the figure: {0}")]
    /// The plotting library failed.
    Draw(String),
    #[error("cannot encode the PNG: {0}")]
    /// PNG encoding failed.
    Png(#[from] png::EncodingError),
    #[error("cannot encode JSON: {0}")]
    /// JSON encoding failed.
    Json(#[from] serde_json::Error),
    #[error("cannot write CSV: {0}")]
    /// CSV writing failed.
    Csv(#[from] csv::Error),
}

impl ExportError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The file's bytes. `meta` (model, checkpoint, split, ...) heads the figure, the JSON
/// document and the CSV comments.
pub fn render(items: &[Item], meta: &Meta, style: &Style, format: Format) -> Result<Vec<u8>, ExportError> {
    if items.is_empty() {
        return Err(ExportError::Empty);
    }
    match format {
        Format::Svg => Ok(figure::Figure::new(items, meta, style)?.svg()?.into_bytes()),
        Format::Png => figure::Figure::new(items, meta, style)?.png(),
        Format::Json => table::json(items, meta, style),
        Format::Csv => table::csv(items, meta, style),
    }
}

/// Writes to `path`, replacing it if it exists (the caller decides whether it may): the
/// bytes go to a temporary file beside it first, so a failure leaves no half-written file.
pub fn write(items: &[Item], meta: &Meta, style: &Style, format: Format, path: &Path) -> Result<(), ExportError> {
    let bytes = render(items, meta, style, format)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    }
    atomic_write(path, &bytes)
}

/// Writes bytes already rendered to `path` (atomically, creating its directory).
pub(crate) fn write_bytes(bytes: &[u8], path: &Path) -> Result<(), ExportError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    }
    atomic_write(path, bytes)
}

/// Writes to a new file `dir/stem.ext` (or `stem-2.ext`, ...), creating `dir`; never replaces
/// a file, even one that appears meanwhile. Returns the path written.
pub fn write_new(
    items: &[Item],
    meta: &Meta,
    style: &Style,
    format: Format,
    dir: &Path,
    stem: &str,
) -> Result<PathBuf, ExportError> {
    // Rendered first, so that a failure leaves no empty file behind.
    let bytes = render(items, meta, style, format)?;
    write_new_bytes(&bytes, dir, stem, format.extension())
}

/// [`write_new`] of bytes already rendered: a new file `dir/stem.ext` (or `stem-2.ext`, ...).
pub(crate) fn write_new_bytes(bytes: &[u8], dir: &Path, stem: &str, ext: &str) -> Result<PathBuf, ExportError> {
    fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    // The name is claimed with create_new, which fails if another writer took it between
    // `unique_path` and now; the content then replaces our own empty claim.
    let path = loop {
        let path = unique_path(dir, stem, ext);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => break path,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ExportError::io(&path, e)),
        }
    };
    if let Err(e) = atomic_write(&path, bytes) {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// `dir/stem.ext` if no such file exists, else the first free `dir/stem-N.ext` for N = 2, 3, ...
pub fn unique_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.{ext}"));
    if !exists(&first) {
        return first;
    }
    (2u64..)
        .map(|n| dir.join(format!("{stem}-{n}.{ext}")))
        .find(|p| !exists(p))
        .expect("some number is free")
}

/// Broken symlinks count as taken: writing through one would create its target.
fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// A name that says what the file holds: `test-0572-alpha-t-w-m-word` for one utterance,
/// `test-0272-0531-0572-...` for several, `utt11-...` for the recording `utt11.wav`; `name`
/// (such as `figure4`) replaces the utterances.
pub fn file_stem(items: &[Item], name: Option<&str>, style: &Style) -> String {
    let what = match name {
        Some(name) => slug(name),
        None => {
            let mut parts = Vec::new();
            let mut split = None;
            for item in items.iter().take(4) {
                if let Some(wav) = item.recording {
                    parts.push(slug(&recording_name(wav)));
                    split = None;
                    continue;
                }
                if split != Some(item.split) {
                    parts.push(item.split.name().to_string());
                    split = Some(item.split);
                }
                parts.push(format!("{:04}", item.snapshot.index));
            }
            if items.len() > 4 {
                parts.push(format!("and-{}-more", items.len() - 4));
            }
            if parts.is_empty() {
                parts.push("empty".into());
            }
            parts.join("-")
        }
    };
    let special = if style.show_special { "" } else { "-no-special" };
    format!(
        "{what}-{}-{}-{}{special}",
        style.left.slug(),
        style.right.slug(),
        level_name(style.level)
    )
}

/// What names a recording's exports: its file name without the extension (`utt11` for
/// `utt11.wav`), rather than `test-0000`.
fn recording_name(wav: &Path) -> String {
    wav.file_stem()
        .map_or_else(|| "recording".into(), |s| s.to_string_lossy().into_owned())
}

/// Lower-case ASCII letters, digits and single dashes.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "export".into()
    } else {
        out
    }
}

/// Through the crate's one atomic writer (`fsutil::write_atomic`): a failure leaves neither
/// a half-written file nor a temporary one.
fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|e| ExportError::io(path, e))
}

#[cfg(test)]
mod format_tests;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// "[CLS] fun ##ny ok [SEP]": two words, distinct values everywhere.
    pub(crate) fn snapshot(index: usize) -> AttentionSnapshot {
        let n = 5;
        let m = |f: &dyn Fn(usize, usize) -> f32| (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect();
        AttentionSnapshot {
            index,
            tokens: ["[CLS]", "fun", "##ny", "ok", "[SEP]"].map(String::from).to_vec(),
            words: ["funny", "ok"].map(String::from).to_vec(),
            token_words: vec![None, Some(0), Some(0), Some(1), None],
            label: 1.2,
            prediction: 0.85,
            prediction_without_audio: 0.8,
            batching: "test".into(),
            text_attention: m(&|i, j| (i * 5 + j) as f32 / 10.0),
            audio_attention: m(&|i, j| ((i + j) % 3) as f32),
            fusion_scores: m(&|i, j| i as f32 - j as f32),
            multimodal_attention: m(&|i, j| if i == j { 0.6 } else { 0.1 }),
        }
    }

    /// What `export --index 3` on a CM-BERT checkpoint says.
    pub(crate) fn meta() -> Meta {
        Meta {
            split: Split::Test,
            checkpoint: Some("runs/a/best".into()),
            wav: None,
            source: Source::Command(CommandMeta {
                model: crate::model::ModelKind::CmBert,
                cls_audio: Some(crate::model::ClsAudio::Zero),
                data: Some("data/mosi".into()),
                audio: None,
                audio_source: "zero-audio".into(),
                words: None,
                eval_batch_size: 24,
                precision: crate::model::bf16::Precision::F32,
            }),
        }
    }

    #[test]
    fn formats_from_extensions() {
        assert_eq!(Format::from_path(Path::new("a/fig.PNG")), Some(Format::Png));
        assert_eq!(Format::from_path(Path::new("x.csv")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("x.txt")), None);
        assert_eq!(Format::from_path(Path::new("x")), None);
    }

    #[test]
    fn stems_say_what_the_file_holds() {
        let s = snapshot(572);
        let item = Item {
            snapshot: &s,
            text: "funny ok",
            split: Split::Test,
            recording: None,
        };
        let style = Style::default();
        assert_eq!(file_stem(&[item], None, &style), "test-0572-alpha-t-w-m-word");
        assert_eq!(
            file_stem(&[item, item], Some("Figure 4!"), &style),
            "figure-4-alpha-t-w-m-word"
        );
        let recording = Item {
            recording: Some(Path::new("takes/My Take 2.wav")),
            ..item
        };
        assert_eq!(
            file_stem(&[recording], None, &style),
            "my-take-2-alpha-t-w-m-word",
            "a recording is named after its file"
        );
        assert_eq!(
            (item.name(), recording.name()),
            ("test #572".into(), "My Take 2.wav".into())
        );
        let dev = Item {
            split: Split::Dev,
            ..item
        };
        let hidden = Style {
            show_special: false,
            level: Level::Piece,
            right: Matrix::Shift,
            ..style
        };
        assert_eq!(
            file_stem(&[item, item, dev], None, &hidden),
            "test-0572-0572-dev-0572-alpha-t-shift-piece-no-special"
        );
        assert_eq!(
            file_stem(&[item; 6], None, &Style::default()),
            "test-0572-0572-0572-0572-and-2-more-alpha-t-w-m-word"
        );
    }

    #[test]
    fn unique_paths_never_name_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p1 = unique_path(dir.path(), "fig", "png");
        assert_eq!(p1, dir.path().join("fig.png"));
        fs::write(&p1, "one").unwrap();
        let p2 = unique_path(dir.path(), "fig", "png");
        assert_eq!(p2, dir.path().join("fig-2.png"));
        fs::write(&p2, "two").unwrap();
        fs::write(dir.path().join("fig-3.png"), "three").unwrap();
        assert_eq!(unique_path(dir.path(), "fig", "png"), dir.path().join("fig-4.png"));
        assert_eq!(unique_path(dir.path(), "fig", "svg"), dir.path().join("fig.svg"));
    }

    #[test]
    fn write_new_keeps_existing_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("exports");
        let s = snapshot(3);
        let items = [Item {
            snapshot: &s,
            text: "funny ok",
            split: Split::Test,
            recording: None,
        }];
        let meta = meta();
        let style = Style::default();
        let a = write_new(&items, &meta, &style, Format::Json, &out, "x").unwrap();
        let before = fs::read(&a).unwrap();
        let b = write_new(&items, &meta, &style, Format::Json, &out, "x").unwrap();
        assert_eq!(
            (a.file_name().unwrap(), b.file_name().unwrap()),
            ("x.json".as_ref(), "x-2.json".as_ref())
        );
        assert_eq!(fs::read(&a).unwrap(), before);
        let mut names: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["x-2.json", "x.json"]);
        // `write` replaces, atomically, and creates the parent directory.
        let target = dir.path().join("new/dir/y.csv");
        write(&items, &meta, &style, Format::Csv, &target).unwrap();
        write(&items, &meta, &style, Format::Csv, &target).unwrap();
        assert_eq!(fs::read_dir(target.parent().unwrap()).unwrap().count(), 1);
        assert!(matches!(
            write(&[], &meta, &style, Format::Png, &target),
            Err(ExportError::Empty)
        ));
    }
}
