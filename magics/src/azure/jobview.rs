//! How jobs and their results look in a notebook: job rows (the id links to the portal in
//! HTML, never in text), the waiting line of `%azure.execute`, and histograms as an HTML table
//! with inline-SVG bars, aligned text bars, and `application/x-azq.histogram+json`.

use std::time::Duration;

use azq_circuits::results::Histogram;
use azq_client::{JobDetails, WorkspaceRef};
use serde_json::{Value, json};

use crate::bundle::{Bundle, escape_html};
use crate::spec::prose_html;

/// The portal page of a job.
pub fn portal_url(ws: &WorkspaceRef, id: &str) -> String {
    format!(
        "https://portal.azure.com/#@/resource/subscriptions/{}/resourceGroups/{}/providers/\
         Microsoft.Quantum/Workspaces/{}/job_management?microsoft_azure_quantum_jobid={}",
        enc(&ws.subscription),
        enc(&ws.resource_group),
        enc(&ws.name),
        enc(id)
    )
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A service time shortened for a table: `2026-12-03 18:52:14` (UTC), or `-`.
fn when(t: Option<&str>) -> String {
    match t {
        Some(t) if t.len() >= 19 => format!("{} {}", &t[..10], &t[11..19]),
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => "-".to_owned(),
    }
}

fn cost(job: &JobDetails) -> String {
    match &job.cost_estimate {
        Some(c) => match (c.estimated_total, c.currency_code.as_deref()) {
            (Some(v), Some(code)) => format!("{code} {v:.2}"),
            (Some(v), None) => format!("{v:.2}"),
            _ => "-".to_owned(),
        },
        None => "-".to_owned(),
    }
}

const HEADS: [&str; 7] = [
    "Job Name",
    "Job ID",
    "Job Status",
    "Target",
    "Creation Time",
    "End Time",
    "Cost Estimate",
];

/// What a table shows of one job: its cells and the few fields the JSON adds. A listing
/// keeps these, not the jobs (a tenth of their size).
#[derive(Debug, Clone)]
pub struct JobRow {
    cells: [String; 7],
    provider: String,
    begin: Option<String>,
    creation: Option<String>,
    end: Option<String>,
    error: Option<(String, String)>,
}

impl JobRow {
    pub fn of(job: &JobDetails) -> JobRow {
        JobRow {
            cells: [
                job.name.clone().unwrap_or_else(|| job.id.clone()),
                job.id.clone(),
                job.status.as_str().to_owned(),
                job.target.clone(),
                when(job.creation_time.as_deref()),
                when(job.end_execution_time.as_deref()),
                cost(job),
            ],
            provider: job.provider_id.clone(),
            begin: job.begin_execution_time.clone(),
            creation: job.creation_time.clone(),
            end: job.end_execution_time.clone(),
            error: job
                .error_data
                .as_ref()
                .map(|e| (e.code.clone(), e.message.clone())),
        }
    }

    /// One job as JSON for `application/x-azq.jobs+json` (the portal link is left out: it is
    /// the workspace's job page with `microsoft_azure_quantum_jobid=<id>`, and would double
    /// the size of a long listing).
    fn json(&self) -> Value {
        let [name, id, status, target, ..] = &self.cells;
        let mut row = json!({
            "id": id,
            "name": name,
            "status": status,
            "target": target,
            "provider": self.provider,
            "creation_time": self.creation,
            "begin_execution_time": self.begin,
            "end_execution_time": self.end,
        });
        if let Some((code, message)) = &self.error {
            row["error"] = json!({"code": code, "message": message});
        }
        row
    }
}

/// Jobs as a table: aligned text, an HTML table whose ids link to the portal, and JSON.
/// `note` is a line shown under the table (e.g. "more jobs exist").
pub fn jobs_table(ws: &WorkspaceRef, rows: &[JobRow], note: Option<&str>) -> Bundle {
    let cells: Vec<[String; 7]> = rows.iter().map(|r| r.cells.clone()).collect();
    let mut plain = super::render::text_table(HEADS, &cells);
    drop(cells);
    // One style block for the table: rows carry classes, not styles (a long listing stays
    // small).
    let mut html = String::from(
        "<style>.azq-jobs .Succeeded{color:#107c10}\
         .azq-jobs .Failed{color:#a4262c}.azq-jobs .Cancelled{color:#8a8886}\
         .azq-jobs td:nth-child(3){font-weight:600}</style><table class=\"azq-jobs\"><thead><tr>",
    );
    for h in HEADS {
        html.push_str(&format!("<th style=\"text-align:start\">{h}</th>"));
    }
    html.push_str("</tr></thead><tbody>");
    let portal = escape_html(&portal_url(ws, ""));
    for r in rows {
        let [name, id, status, rest @ ..] = &r.cells;
        html.push_str(&format!(
            "<tr><td style=\"text-align:start\">{}</td><td style=\"text-align:start\">\
             <a href=\"{portal}{}\" target=\"_blank\">{}</a></td>\
             <td class=\"{}\" style=\"text-align:start\">{}</td>",
            escape_html(name),
            escape_html(&enc(id)),
            escape_html(id),
            escape_html(status),
            escape_html(status)
        ));
        for c in rest {
            html.push_str(&super::render::td(&escape_html(c)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    if let Some(note) = note {
        plain.push('\n');
        plain.push_str(note);
        html.push_str(&format!("<p>{}</p>", prose_html(note)));
    }
    let data: Vec<Value> = rows.iter().map(JobRow::json).collect();
    Bundle::text(plain)
        .with_html(html)
        .with_data("jobs", Value::Array(data))
}

/// A one-row table of `job`.
pub fn job_table(ws: &WorkspaceRef, job: &JobDetails, note: Option<&str>) -> Bundle {
    jobs_table(ws, &[JobRow::of(job)], note)
}

fn status_badge(status: &azq_client::JobStatus) -> String {
    use azq_client::JobStatus as S;
    let colour = match status {
        S::Succeeded => "#107c10",
        S::Failed => "#a4262c",
        S::Cancelled => "#8a8886",
        _ => "#0078d4",
    };
    format!(
        "<span style=\"color:{colour};font-weight:600\">{}</span>",
        escape_html(status.as_str())
    )
}

/// The line `%azure.execute` updates in place while it waits.
pub fn waiting(job: &JobDetails, elapsed: Duration, queue: Option<i64>) -> Bundle {
    let secs = elapsed.as_secs_f64();
    let queue = match queue {
        Some(q) if q > 0 => format!(", {q} ahead in the queue"),
        _ => String::new(),
    };
    let text = format!(
        "Job {} ({}) on {}: {} after {secs:.1} s{queue}",
        job.name.as_deref().unwrap_or(&job.id),
        job.id,
        job.target,
        job.status.as_str()
    );
    Bundle::text(text.clone()).with_html(format!(
        "<div class=\"azq-progress\"><code>{}</code>: {} after {secs:.1} s{}</div>",
        escape_html(job.name.as_deref().unwrap_or(&job.id)),
        status_badge(&job.status),
        escape_html(&queue)
    ))
}

/// A histogram: outcomes with their frequencies, most significant bit first.
pub fn histogram(h: &Histogram, title: &str) -> Bundle {
    let total: f64 = h.outcomes.values().sum();
    let rows: Vec<(&String, f64)> = h
        .outcomes
        .iter()
        .map(|(k, v)| (k, if total > 0.0 { v / total } else { 0.0 }))
        .collect();
    let label_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .chain(["Result".len()])
        .max()
        .unwrap_or(6);
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    let mut plain = format!("{title}\n{:<label_w$}  Frequency\n", "Result");
    for (k, p) in &rows {
        let bar = if max > 0.0 {
            "█".repeat(((p / max) * 40.0).round() as usize)
        } else {
            String::new()
        };
        plain.push_str(&format!("{k:<label_w$}  {p:>9.4}  {bar}\n"));
    }
    if let Some(shots) = h.shots {
        plain.push_str(&format!("({shots} shots)\n"));
    }
    let bar_w = 240.0;
    let mut html = format!(
        "<div class=\"azq-histogram\"><p>{}</p><table><thead><tr><th style=\"text-align:start\">\
         Result</th><th style=\"text-align:end\">Frequency</th><th style=\"text-align:start\">\
         Histogram</th></tr></thead><tbody>",
        escape_html(title)
    );
    for (k, p) in &rows {
        let w = if max > 0.0 { p / max * bar_w } else { 0.0 };
        html.push_str(&format!(
            "<tr><td style=\"text-align:start\"><code>{}</code></td><td style=\"text-align:end\">{p:.4}</td>\
             <td style=\"text-align:start\">\
             <svg width=\"{bar_w}\" height=\"14\" role=\"img\" aria-label=\"{p:.4}\">\
             <rect x=\"0\" y=\"1\" width=\"{w:.1}\" height=\"12\" fill=\"#0078d4\"></rect></svg>\
             </td></tr>",
            escape_html(k)
        ));
    }
    html.push_str("</tbody></table>");
    if let Some(shots) = h.shots {
        html.push_str(&format!("<p style=\"opacity:0.75\">{shots} shots</p>"));
    }
    html.push_str("</div>");
    let data = json!({
        "outcomes": rows.iter().map(|(k, p)| json!({"outcome": k, "frequency": p})).collect::<Vec<_>>(),
        "shots": h.shots,
    });
    Bundle::text(plain.trim_end().to_owned())
        .with_html(html)
        .with_data("histogram", data)
}
