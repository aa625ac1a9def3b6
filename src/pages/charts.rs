//! Small bar charts drawn on the server as SVG: readable without JavaScript, and always shown
//! with their figures in text beside them.

use maud::{Markup, html};

/// A bar chart of `values` (label, value), `id` for tests, `title` for screen readers. Labels
/// are printed under every `label_every`-th bar.
pub fn bars(id: &str, title: &str, values: &[(String, i64)], label_every: usize) -> Markup {
    let max = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let (w, h, gap) = (600i64, 160i64, 2i64);
    let n = i64::try_from(values.len()).unwrap_or(1).max(1);
    let bar_w = ((w - gap * (n + 1)) / n).max(1);
    let every = label_every.max(1);
    html! {
        // 20 units of margin each side, so the first and last labels are not cut.
        svg.chart id=(id) xmlns="http://www.w3.org/2000/svg" viewBox={ "-20 0 " (w + 40) " " (h) } role="img" aria-label=(title) {
            @for (i, (label, v)) in values.iter().enumerate() {
                @let x = gap + i64::try_from(i).unwrap_or(0) * (bar_w + gap);
                @let bh = ((*v).max(0) * (h - 30)) / max;
                rect.bar x=(x) y=(h - 20 - bh) width=(bar_w) height=(bh) {
                    title { (label) ": " (v) }
                }
                @if i % every == 0 {
                    text.label x=(x + bar_w / 2) y=(h - 5) text-anchor="middle" { (label) }
                }
            }
        }
    }
}
