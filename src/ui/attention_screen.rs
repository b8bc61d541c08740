//! The attention screen: a status line, the utterance list and the two heatmaps of the
//! watched utterance (with the `[CLS]` bars where `b` puts them), from its current weights
//! or from one of its recorded steps (`<` `>`: the status line and the title say which).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::app::{App, Focus};
use super::browser::BrowserPanel;
use super::explorer::Bars;
use super::heatmap::{ClsPanel, HeatmapPanel};
use super::pair::PairPanel;
use super::text::plural;
use crate::model::ModelKind;
use crate::train::Weights;

impl App {
    pub(super) fn draw_attention(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.theme;
        // Ten rows of list at 120x40 leave the heatmaps an 18-word utterance's rows.
        let list_h = if area.height >= 36 { 10 } else { 8 };
        let [bar, list, maps] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(list_h), Constraint::Min(6)]).areas(area);
        frame.render_widget(
            Paragraph::new(self.status_line()).style(Style::default().fg(theme.text)),
            bar,
        );
        frame.render_widget(
            BrowserPanel {
                browser: &self.browser,
                theme,
                focused: self.focus == Focus::List,
            },
            list,
        );
        let Some(shown) = self.explorer.shown() else {
            let waiting = if self.state.info.model.is_some_and(|m| m.kind == ModelKind::TBert) {
                "T-BERT has no fusion attention to show"
            } else {
                "waiting for the model to compute this utterance's attention…"
            };
            frame.render_widget(
                Paragraph::new(waiting)
                    .style(Style::default().fg(theme.dim))
                    .block(Block::default().borders(Borders::ALL)),
                maps,
            );
            return;
        };
        let Some((left, right)) = self.explorer.views() else {
            return;
        };
        let note = match (shown.recorded, self.explorer.current(), shown.weights) {
            (Some(place), _, _) => format!("· step {}, recorded ", place.step),
            (None, false, _) => "(updating…) ".to_string(),
            (None, true, live @ Weights::Live { .. }) => {
                format!("· {live} ({}) ", plural(self.explorer.updates, "update"))
            }
            (None, true, weights) => format!("· {weights} "),
        };
        // A recorded step says so before the text, which a narrow screen cuts.
        let at = shown.recorded.map_or(String::new(), |p| {
            format!(" at step {} ({} of {})", p.step, p.position, p.of)
        });
        let title = format!(
            " {}{at}: {} ",
            self.browser.name(shown.split, shown.snapshot.index),
            self.browser.splits[shown.split.index()]
                .rows
                .get(shown.snapshot.index)
                .map_or("", |u| u.text.trim())
                .to_lowercase()
        );
        let outer = Block::default()
            .borders(Borders::TOP)
            .border_style(Style::default().fg(theme.border))
            .title(title);
        let inner = outer.inner(maps);
        frame.render_widget(outer, maps);
        let cursor = Some(self.explorer.cursor);
        let focused = self.focus == Focus::Heatmap;
        let weights = self.explorer.cls_bars();
        let bars = ClsPanel {
            snapshot: shown.snapshot,
            weights: &weights,
            theme,
            cursor: Some(self.explorer.cursor.1),
        };
        // A stress pair compares both recordings' [CLS] rows where one utterance's bars go.
        let pair = self.pair.as_ref().map(|pair| PairPanel {
            pair,
            level: self.explorer.level,
            show_special: self.explorer.show_special,
            theme,
            cursor: Some(self.explorer.cursor.1),
        });
        let bars_h = match &pair {
            Some(p) => p.wanted_height(),
            None => bars.wanted_height(inner.width),
        };
        let heatmap = |view| HeatmapPanel {
            view,
            theme,
            cursor,
            focused,
            note: &note,
        };
        // The bars are drawn in one place only (`b` moves them). Below, they get what the
        // matrices leave once every row and whole labels are shown, and only if all fit.
        let mats_h = HeatmapPanel::wanted_height(&left, inner.width / 2);
        let below = self.explorer.bars == Bars::Below && inner.height >= mats_h + bars_h;
        let mats_h = if below { mats_h } else { inner.height };
        let [mats, strip] = Layout::vertical([Constraint::Length(mats_h), Constraint::Min(0)]).areas(inner);
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(mats);
        frame.render_widget(heatmap(&right), r);
        let bars_at = match self.explorer.bars {
            Bars::Left => Some(l),
            Bars::Below => {
                frame.render_widget(heatmap(&left), l);
                below.then_some(strip)
            }
        };
        match (bars_at, pair) {
            (Some(at), Some(pair)) => frame.render_widget(pair, at),
            (Some(at), None) => frame.render_widget(bars, at),
            (None, _) => {}
        }
    }

    /// One line with the run's progress and the audio readout, for the attention screen;
    /// on a recorded step, that step and its loss in place of the progress (screen 1 has it).
    fn status_line(&self) -> String {
        let s = &self.state;
        let shown = self.explorer.shown();
        let progress = if let Some(place) = shown.and_then(|s| s.recorded) {
            place.to_string()
        } else if s.total_steps > 0 {
            format!(
                "{} · epoch {}/{} step {}/{} · loss {}",
                s.status_label(),
                (s.epoch + 1).min(s.epochs.max(1)),
                s.epochs,
                s.step,
                s.total_steps,
                s.ema.map_or("-".into(), |e| format!("{e:.3}"))
            )
        } else {
            s.info.checkpoint.clone().unwrap_or_default()
        };
        let audio = shown.map_or(String::new(), |i| {
            let snap = i.snapshot;
            // A recorded step's weights are its step, said already.
            let weights = if i.recorded.is_some() {
                String::new()
            } else {
                format!("{}: ", i.weights)
            };
            format!(
                " · {weights}pred {:+.2} (no audio {:+.2}) label {}",
                snap.prediction,
                snap.prediction_without_audio,
                crate::data::label_text(snap.label, 1)
            )
        });
        format!("{progress}{audio}")
    }
}
