//! The training screen: the status panel, the metrics table and the loss chart, side by side
//! on a wide terminal and stacked on a narrow one.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

use super::metrics::TABLE_WIDTH;
use super::theme::Theme;
use super::{LossChart, MetricsTable, RunState, StatusPanel};

/// The status and metrics panels get the rows they need (every epoch when there is
/// room) and at least the rows that keep the run's outcome in view; the loss chart keeps
/// `CHART` rows where the screen has them and takes the rest.
pub(super) fn draw(frame: &mut Frame, area: Rect, s: &RunState, theme: &Theme) {
    const CHART: u16 = 8;
    let (status, table) = (StatusPanel(s, theme), MetricsTable(s, theme));
    let spare = area.height.saturating_sub(CHART);
    if area.width >= 110 {
        // Side by side: the table as wide as its columns, the status the rest.
        let table_w = (TABLE_WIDTH + 2).min(area.width / 2);
        let status_w = area.width - table_w;
        let least = table.min_height().max(status.min_height(status_w)).min(area.height);
        let top_h = status.height(status_w).max(table.height()).min(spare).max(least);
        let [top, chart] = Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(area);
        let [left, right] = Layout::horizontal([Constraint::Length(status_w), Constraint::Length(table_w)]).areas(top);
        frame.render_widget(status, left);
        frame.render_widget(table, right);
        frame.render_widget(LossChart(s, theme), chart);
    } else {
        // Stacked: each panel its least first, then the status, then the table, up to
        // what they need.
        let table_h = table.min_height().min(spare);
        let mut status_h = status.min_height(area.width).min(spare - table_h);
        let extra = spare - table_h - status_h;
        let more = status.height(area.width).saturating_sub(status_h).min(extra);
        status_h += more;
        let table_h = table_h + table.height().saturating_sub(table_h).min(extra - more);
        let [top, chart, bottom] = Layout::vertical([
            Constraint::Length(status_h),
            Constraint::Min(0),
            Constraint::Length(table_h),
        ])
        .areas(area);
        frame.render_widget(status, top);
        frame.render_widget(LossChart(s, theme), chart);
        frame.render_widget(table, bottom);
    }
}
