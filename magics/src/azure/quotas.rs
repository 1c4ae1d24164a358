//! `%azure.quotas`: the workspace's quotas as a table (Dimension, Scope, Provider,
//! Utilization, Holds, Limit, Period), with each row's use of its limit as a bar in HTML.

use async_trait::async_trait;
use azq_client::Quota;
use serde_json::{Value, json};

use super::connect::CellPrompt;
use crate::MagicError;
use crate::args::Bound;
use crate::bundle::{Bundle, escape_html};
use crate::cell::{Call, Form};
use crate::magic::{Ctx, Magic};
use crate::spec::{Example, MagicSpec};

pub struct Quotas;

static SPEC: MagicSpec = MagicSpec {
    name: "azure.quotas",
    form: Form::Line,
    summary: "Lists the workspace's quotas and how much of each is used.",
    usage: "%azure.quotas",
    description: "One row per quota: its dimension (e.g. `qgs`, IonQ's gate-shots; `hqc`, \
        Quantinuum's credits), scope (Workspace or Subscription), provider, utilization (what \
        finished jobs used in the period), holds (what queued jobs have reserved), limit and \
        period (Monthly, or None: over the workspace's life). In HTML each row has a bar of \
        utilization and holds against the limit.",
    params: &[],
    rules: &[],
    extra: false,
    examples: &[Example {
        code: "%azure.quotas",
        says: "The quota table.",
    }],
    errors: &[
        "NotConnected",
        "ServiceError",
        "NetworkError",
        "AccessDenied",
    ],
};

const HEADS: [&str; 7] = [
    "Dimension",
    "Scope",
    "Provider",
    "Utilization",
    "Holds",
    "Limit",
    "Period",
];

/// A number as a table shows it: whole numbers without decimals, others to 4 places
/// (trailing zeros dropped), thousands grouped.
fn number(x: f64) -> String {
    if !x.is_finite() {
        return "-".to_owned();
    }
    let text = format!("{:.4}", x.abs());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if x < 0.0 && text != "0" { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// The share of the limit used and held, when the limit is a positive number.
fn share(q: &Quota) -> Option<(f64, f64)> {
    let limit = q.limit.filter(|l| l.is_finite() && *l > 0.0)?;
    let used = q.utilization.unwrap_or(0.0).max(0.0) / limit;
    let held = q.holds.unwrap_or(0.0).max(0.0) / limit;
    Some((used, held))
}

fn cells(q: &Quota) -> [String; 7] {
    let used = q.utilization.map_or("-".to_owned(), number);
    let used = match share(q) {
        // A use too small to show at one decimal is not shown as none.
        Some((u, _)) if u > 0.0 && u < 0.0005 => format!("{used} (<0.1%)"),
        Some((u, _)) => format!("{used} ({:.1}%)", u * 100.0),
        None => used,
    };
    [
        q.dimension.clone(),
        q.scope.as_ref().map_or("-", |s| s.as_str()).to_owned(),
        q.provider_id.clone(),
        used,
        q.holds.map_or("-".to_owned(), number),
        q.limit.map_or("unlimited".to_owned(), number),
        q.period.as_ref().map_or("-", |p| p.as_str()).to_owned(),
    ]
}

/// An inline-SVG bar: utilization, then holds in a lighter shade, against the limit.
fn bar(q: &Quota) -> String {
    const W: f64 = 160.0;
    let Some((used, held)) = share(q) else {
        return String::new();
    };
    let u = (used.min(1.0) * W).max(0.0);
    let h = (held.min(1.0 - used.min(1.0)) * W).max(0.0);
    let colour = if used + held >= 1.0 {
        "#a4262c"
    } else if used + held >= 0.8 {
        "#ca5010"
    } else {
        "#0078d4"
    };
    format!(
        "<svg width=\"{W}\" height=\"12\" role=\"img\" aria-label=\"{:.1}% used\">\
         <rect x=\"0\" y=\"0\" width=\"{W}\" height=\"12\" fill=\"#edebe9\"></rect>\
         <rect x=\"0\" y=\"0\" width=\"{u:.1}\" height=\"12\" fill=\"{colour}\"></rect>\
         <rect x=\"{u:.1}\" y=\"0\" width=\"{h:.1}\" height=\"12\" fill=\"{colour}\" \
         fill-opacity=\"0.4\"></rect></svg>",
        used * 100.0
    )
}

/// The quotas as aligned text, an HTML table with bars, and `application/x-azq.quotas+json`.
pub fn table(quotas: &[Quota]) -> Bundle {
    if quotas.is_empty() {
        return Bundle::text("No quota information found in this workspace.")
            .with_data("quotas", Value::Array(Vec::new()));
    }
    let rows: Vec<[String; 7]> = quotas.iter().map(cells).collect();
    let plain = super::render::text_table(HEADS, &rows);
    let cells: Vec<[String; 7]> = quotas
        .iter()
        .zip(&rows)
        .map(|(q, row)| {
            let mut cells = row.each_ref().map(|c| escape_html(c));
            cells[3] = format!("{}<br>{}", bar(q), cells[3]);
            cells
        })
        .collect();
    let html = super::render::html_table_of_markup("azq-quotas", HEADS, &cells);
    let data: Vec<Value> = quotas
        .iter()
        .map(|q| {
            json!({
                "dimension": q.dimension,
                "scope": q.scope.as_ref().map(|s| s.as_str()),
                "provider": q.provider_id,
                "utilization": q.utilization,
                "holds": q.holds,
                "limit": q.limit,
                "period": q.period.as_ref().map(|p| p.as_str()),
                "fraction_used": share(q).map(|s| s.0),
            })
        })
        .collect();
    Bundle::text(plain)
        .with_html(html)
        .with_data("quotas", Value::Array(data))
}

#[async_trait]
impl Magic for Quotas {
    fn spec(&self) -> &'static MagicSpec {
        &SPEC
    }

    async fn run(&self, ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Option<Bundle>, MagicError> {
        Bound::bind(&SPEC, call)?;
        let workspace = ctx.azure.connected()?.workspace.clone();
        let mut prompt = CellPrompt::new(&mut *ctx.out);
        let quotas = tokio::select! {
            r = workspace.list_quotas(&mut prompt) => r,
            () = ctx.cancel.cancelled() => return Err(MagicError::Interrupted),
        };
        Ok(Some(table(&quotas.map_err(super::client_error)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_trimmed() {
        for (x, shown) in [
            (0.0, "0"),
            (1_000_000.0, "1,000,000"),
            (1234.5, "1,234.5"),
            (0.016667, "0.0167"),
            (-2.0, "-2"),
            (999.0, "999"),
            (f64::NAN, "-"),
        ] {
            assert_eq!(number(x), shown, "{x}");
        }
    }

    fn quota(utilization: f64, holds: f64, limit: Option<f64>) -> Quota {
        serde_json::from_value(json!({
            "dimension": "qgs", "scope": "Workspace", "providerId": "ionq",
            "utilization": utilization, "holds": holds, "limit": limit, "period": "Monthly"
        }))
        .unwrap()
    }

    #[test]
    fn a_row_shows_its_share_and_a_bar_and_an_unlimited_one_says_so() {
        let t = table(&[
            quota(250.0, 100.0, Some(1000.0)),
            quota(7.0, 0.0, None),
            quota(300.0, 0.0, Some(1_000_000.0)),
        ]);
        let plain = t.plain();
        assert!(plain.starts_with("Dimension  Scope"), "{plain}");
        assert!(plain.contains("250 (25.0%)"), "{plain}");
        assert!(plain.contains("unlimited"), "{plain}");
        assert!(plain.contains("300 (<0.1%)"), "{plain}");
        let html = t.get("text/html").and_then(Value::as_str).unwrap();
        assert_eq!(html.matches("<svg").count(), 2, "{html}");
        assert!(html.contains("width=\"40.0\""), "utilization bar: {html}");
        assert!(
            html.contains("x=\"40.0\" y=\"0\" width=\"16.0\""),
            "holds bar: {html}"
        );
        let data = t.get("application/x-azq.quotas+json").unwrap();
        assert_eq!(data[0]["fraction_used"], json!(0.25));
        assert_eq!(data[1]["limit"], Value::Null);
    }

    #[test]
    fn no_quotas_say_so() {
        assert!(table(&[]).plain().starts_with("No quota information"));
    }
}
