//! Themes: TOML files (`themes/*.toml`, built into the binary, or any file given with
//! `--theme FILE`) that override the built-in colours of the interface and the heatmaps.

use std::io::Read;
use std::path::{Path, PathBuf};

use ratatui::style::Color;
use serde::Deserialize;

use crate::colormap::{Colormap, Rgb};

/// The themes shipped in `themes/`, in the order `t` cycles through them.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("paper", include_str!("../../themes/paper.toml")),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

/// The largest theme file read.
pub const MAX_THEME_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
/// Why `--theme` could not be used.
pub enum ThemeError {
    #[error("{0}: cannot read the theme: {1}")]
    /// The file cannot be read.
    Read(PathBuf, std::io::Error),
    /// The file is not a valid theme.
    #[error("theme {origin}: {message}")]
    Invalid {
        /// The file, or the built-in theme's name.
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
    #[error("no theme {0:?}: use one of {names} or the path of a .toml file", names = names().join(", "))]
    /// Neither a built-in theme nor a file.
    Unknown(String),
}

/// The built-in themes' names, in `t` order.
pub fn names() -> Vec<&'static str> {
    BUILT_IN.iter().map(|(n, _)| *n).collect()
}

#[derive(Debug, Clone, PartialEq)]
/// The colours of the interface and of the heatmaps.
pub struct Theme {
    /// Shown when `t` switches to it.
    pub name: String,
    /// `None` keeps the terminal's own background.
    pub background: Option<Color>,
    /// Ordinary text.
    pub text: Color,
    /// Secondary text: hints, units, the footer.
    pub dim: Color,
    /// Titles and what is focused.
    pub accent: Color,
    /// Panel borders.
    pub border: Color,
    /// The selected row and cell.
    pub selection: Color,
    /// Good outcomes (the best epoch, a small error).
    pub good: Color,
    /// Bad outcomes and failures.
    pub bad: Color,
    /// States that need attention.
    pub warning: Color,
    /// For non-negative matrices.
    pub sequential: Colormap,
    /// For signed matrices, centred on zero.
    pub diverging: Colormap,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            name: "built-in".into(),
            background: None,
            text: Color::Reset,
            dim: Color::DarkGray,
            accent: Color::Cyan,
            border: Color::Gray,
            selection: Color::Indexed(237),
            good: Color::Green,
            bad: Color::Red,
            warning: Color::Yellow,
            sequential: Colormap::viridis(),
            diverging: Colormap::red_blue(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    #[serde(default)]
    ui: UiFile,
    #[serde(default)]
    heatmap: HeatmapFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UiFile {
    background: Option<String>,
    text: Option<String>,
    dim: Option<String>,
    accent: Option<String>,
    border: Option<String>,
    selection: Option<String>,
    good: Option<String>,
    bad: Option<String>,
    warning: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeatmapFile {
    sequential: Option<Vec<String>>,
    diverging: Option<Vec<String>>,
}

impl Theme {
    /// A built-in theme by name, or a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Self, ThemeError> {
        if let Some((name, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(text, name);
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            let origin = path.display().to_string();
            // Read no more than a theme can be: a path to something else (a log, a device)
            // is refused after MAX_THEME_BYTES rather than read whole; a FIFO or a device
            // is refused before it is opened (a FIFO would block the open).
            let mut text = String::new();
            crate::fsutil::open_input(path)
                .and_then(|f| f.take(MAX_THEME_BYTES + 1).read_to_string(&mut text))
                .map_err(|e| ThemeError::Read(path.into(), e))?;
            if text.len() as u64 > MAX_THEME_BYTES {
                return Err(ThemeError::Invalid {
                    origin,
                    message: format!("larger than {MAX_THEME_BYTES} bytes; a theme is a few hundred"),
                });
            }
            return Self::parse(&text, &origin);
        }
        Err(ThemeError::Unknown(name_or_path.into()))
    }

    /// The built-in theme at `index` (wrapping round: `t` cycles).
    pub fn built_in(index: usize) -> Self {
        let (name, text) = BUILT_IN[index % BUILT_IN.len()];
        Self::parse(text, name).expect("built-in themes are valid (tested)")
    }

    /// The built-in defaults with every key of `text` applied; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            origin: origin.into(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| invalid(toml_error_line(text, &e)))?;
        let mut theme = Self {
            name: file.name.unwrap_or_else(|| origin.into()),
            ..Self::default()
        };
        let ui = file.ui;
        let colour = |key: &str, value: &str| -> Result<Color, ThemeError> {
            let Rgb(r, g, b) = value.parse::<Rgb>().map_err(|e| invalid(format!("ui.{key}: {e}")))?;
            Ok(Color::Rgb(r, g, b))
        };
        if let Some(v) = &ui.background {
            theme.background = Some(colour("background", v)?);
        }
        for (key, value, slot) in [
            ("text", &ui.text, &mut theme.text),
            ("dim", &ui.dim, &mut theme.dim),
            ("accent", &ui.accent, &mut theme.accent),
            ("border", &ui.border, &mut theme.border),
            ("selection", &ui.selection, &mut theme.selection),
            ("good", &ui.good, &mut theme.good),
            ("bad", &ui.bad, &mut theme.bad),
            ("warning", &ui.warning, &mut theme.warning),
        ] {
            if let Some(v) = value {
                *slot = colour(key, v)?;
            }
        }
        let ramp = |key: &str, stops: &[String]| -> Result<Colormap, ThemeError> {
            let stops = stops
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    s.parse::<Rgb>()
                        .map_err(|e| invalid(format!("heatmap.{key}[{i}]: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Colormap::new(stops).map_err(|e| invalid(format!("heatmap.{key}: {e}")))
        };
        if let Some(stops) = &file.heatmap.sequential {
            theme.sequential = ramp("sequential", stops)?;
        }
        if let Some(stops) = &file.heatmap.diverging {
            theme.diverging = ramp("diverging", stops)?;
        }
        Ok(theme)
    }

    /// The index of this theme among the built-ins (for `t`), if it is one.
    pub fn built_in_index(&self) -> Option<usize> {
        BUILT_IN.iter().position(|(n, _)| *n == self.name)
    }
}

/// Whether the user asked for no colour (`NO_COLOR` set and not empty, no-color.org): the
/// terminal backend then drops every colour, so what a colour alone marks (the selected row)
/// needs a mark of its own.
pub fn no_color() -> bool {
    static NO_COLOR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NO_COLOR.get_or_init(|| std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()))
}

/// Under `NO_COLOR`, every cell's colours reset. crossterm drops the colours itself, but
/// writes each colour change as an empty SGR sequence (`ESC [ m`), which resets the bold and
/// reverse video set just before it: with no colour changes left, those survive. Called on
/// each frame before it is drawn (the app, the comparison screen).
pub fn drop_colours_if_asked(frame: &mut ratatui::Frame<'_>) {
    if !no_color() {
        return;
    }
    for cell in frame.buffer_mut().content.iter_mut() {
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
    }
}

/// A colour map's colour as a terminal colour.
pub fn color(rgb: Rgb) -> Color {
    Color::Rgb(rgb.0, rgb.1, rgb.2)
}

/// toml's own message spans several lines (the source line and a caret under it); errors here
/// are one line, so keep its message and say where.
fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse_and_differ() {
        let themes: Vec<Theme> = (0..BUILT_IN.len()).map(Theme::built_in).collect();
        assert_eq!(
            themes.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["dark", "paper", "colorblind"]
        );
        assert_ne!(themes[0].sequential, themes[1].sequential);
        assert_eq!(themes[1].background, Some(Color::Rgb(255, 255, 255)));
        assert_eq!(Theme::load("paper").unwrap(), themes[1]);
    }

    #[test]
    fn a_partial_file_overrides_only_its_keys() {
        let t = Theme::parse("[ui]\naccent = \"#ff0000\"\n", "mine.toml").unwrap();
        assert_eq!(t.accent, Color::Rgb(255, 0, 0));
        assert_eq!(t.text, Theme::default().text);
        assert_eq!(t.name, "mine.toml");
    }

    #[test]
    fn errors_name_the_key() {
        let bad_colour = Theme::parse("[ui]\naccent = \"blue\"\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            bad_colour.contains("x.toml") && bad_colour.contains("ui.accent"),
            "{bad_colour}"
        );
        let bad_stop = Theme::parse("[heatmap]\nsequential = [\"#000000\", \"#zz0000\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(bad_stop.contains("heatmap.sequential[1]"), "{bad_stop}");
        let one_stop = Theme::parse("[heatmap]\ndiverging = [\"#000000\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            one_stop.contains("heatmap.diverging") && one_stop.contains("2 stops"),
            "{one_stop}"
        );
        let unknown = Theme::parse("[ui]\nacent = \"#000000\"\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("acent"), "{unknown}");
        let missing = Theme::load("neon").unwrap_err().to_string();
        assert!(
            missing.contains("neon") && missing.contains("dark, paper, colorblind"),
            "{missing}"
        );
    }

    #[test]
    fn toml_syntax_and_type_errors_are_one_line_with_the_position() {
        for (text, line) in [("name = \"x\"\n[ui]\ntext = 5\n", "line 3"), ("[[[[", "line 1")] {
            let err = Theme::parse(text, "mine.toml").unwrap_err().to_string();
            assert!(!err.contains('\n'), "{err:?}");
            assert!(err.contains("mine.toml") && err.contains(line), "{err}");
        }
    }

    #[test]
    fn hostile_theme_files_are_refused_without_reading_them_whole() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, format!("name = \"{}\"\n", "x".repeat(2 << 20))).unwrap();
        let err = Theme::load(big.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            err.contains("big.toml") && err.contains("larger than 1048576 bytes"),
            "{err}"
        );
        // Nesting as deep as a 1 MiB file allows ends in an error, not a stack overflow.
        let deep = format!("name = {}{}\n", "[".repeat(400_000), "]".repeat(400_000));
        let err = Theme::parse(&deep, "deep.toml").unwrap_err().to_string();
        assert!(err.contains("deep.toml"), "{err}");
    }
}
