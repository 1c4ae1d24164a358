//! How Azure things look in a notebook: the connection line, the target table grouped by
//! provider (availability as a badge in HTML), and the device-code sign-in prompt.

use std::time::Duration;

use serde_json::json;

use super::session::Connection;
use crate::bundle::{Bundle, escape_html};
use crate::spec::prose_html;

/// "Connected to Azure Quantum workspace … in location …." and where, for emulators.
pub fn status_line(c: &Connection) -> String {
    let ws = &c.workspace;
    let place = match &ws.location {
        Some(l) => format!("in location {l}"),
        None => format!("at {}", ws.endpoint.as_str().trim_end_matches('/')),
    };
    let emulator = match &c.emulator {
        Some(url) => format!(" (the embedded emulator at {url})"),
        None if azq_client::http::is_loopback(&ws.endpoint) => format!(
            " (an emulator at {})",
            ws.endpoint.as_str().trim_end_matches('/')
        ),
        None => String::new(),
    };
    format!(
        "Connected to Azure Quantum workspace {} {place}{emulator}.",
        ws.workspace.name
    )
}

/// The connection and its targets, as text, HTML and `application/x-azq.targets+json`.
pub fn connection(c: &Connection, age: Duration) -> Bundle {
    let line = status_line(c);
    let credential = c.workspace.credential_kind();
    let signed = format!("Signed in with {}.", credential.label());
    let rows: Vec<(&str, &str, String)> = c
        .providers
        .iter()
        .flat_map(|p| {
            p.targets.iter().map(move |t| {
                (
                    p.id.as_str(),
                    t.id.as_str(),
                    t.average_queue_time.map_or("-".into(), |q| q.to_string()),
                )
            })
        })
        .collect();
    let mut plain = format!("{line}\n{signed}\n");
    let mut html = format!(
        "<div class=\"azq-connection\"><p>{}</p><p style=\"opacity:0.75\">{}</p>",
        prose_html(&line),
        prose_html(&signed)
    );
    if rows.is_empty() {
        let none = format!(
            "No targets are available in workspace {}; add a provider to it in the Azure portal.",
            c.workspace.workspace.name
        );
        plain.push_str(&none);
        html.push_str(&format!("<p>{}</p></div>", prose_html(&none)));
    } else {
        let heads = [
            "Target ID",
            "Current Availability",
            "Average Queue Time (Seconds)",
        ];
        let w0 = rows
            .iter()
            .map(|r| r.1.len() + 2)
            .chain(c.providers.iter().map(|p| p.id.len()))
            .chain([heads[0].len()])
            .max()
            .unwrap_or(0);
        let w1 = c
            .providers
            .iter()
            .flat_map(|p| p.targets.iter().map(|t| t.current_availability.len()))
            .chain([heads[1].len()])
            .max()
            .unwrap_or(0);
        plain.push_str(&format!(
            "\n{:<w0$}  {:<w1$}  {}\n",
            heads[0], heads[1], heads[2]
        ));
        plain.push_str(&format!(
            "{}  {}  {}\n",
            "-".repeat(w0),
            "-".repeat(w1),
            "-".repeat(heads[2].len())
        ));
        html.push_str(
            "<table class=\"azq-targets\"><thead><tr><th style=\"text-align:start\">Target ID</th>\
             <th style=\"text-align:start\">Current Availability</th>\
             <th style=\"text-align:end\">Average Queue Time (Seconds)</th></tr></thead>",
        );
        for p in &c.providers {
            plain.push_str(&format!("{:<w0$}  {}\n", p.id, p.current_availability));
            html.push_str(&format!(
                "<tbody><tr><th style=\"text-align:start\">{}</th><td style=\"text-align:start\">{}</td><td></td></tr>",
                escape_html(&p.id),
                badge(&p.current_availability)
            ));
            for t in &p.targets {
                let queue = t.average_queue_time.map_or("-".into(), |q| q.to_string());
                plain.push_str(&format!(
                    "  {:<w$}  {:<w1$}  {queue:>qw$}\n",
                    t.id,
                    t.current_availability,
                    w = w0 - 2,
                    qw = heads[2].len()
                ));
                html.push_str(&format!(
                    "<tr><td style=\"text-align:start\"><code>{}</code></td><td style=\"text-align:start\">{}</td><td style=\"text-align:end\">{}</td></tr>",
                    escape_html(&t.id),
                    badge(&t.current_availability),
                    escape_html(&queue)
                ));
            }
            html.push_str("</tbody>");
        }
        html.push_str("</table></div>");
    }
    let data = json!({
        "workspace": c.workspace.workspace.name,
        "subscription": c.workspace.workspace.subscription,
        "resource_group": c.workspace.workspace.resource_group,
        "location": c.workspace.location,
        "endpoint": c.workspace.endpoint.as_str(),
        "credential": credential.name(),
        "emulator": c.emulator.is_some(),
        "custom_storage": c.storage.is_some(),
        "age_seconds": age.as_secs(),
        "providers": c.providers.iter().map(|p| json!({
            "id": p.id,
            "current_availability": p.current_availability,
            "targets": p.targets.iter().map(|t| json!({
                "id": t.id,
                "current_availability": t.current_availability,
                "average_queue_time": t.average_queue_time,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    Bundle::text(plain.trim_end().to_owned())
        .with_html(html)
        .with_data("targets", data)
}

/// Availability as a coloured badge.
fn badge(availability: &str) -> String {
    let colour = match availability.to_ascii_lowercase().as_str() {
        "available" => "#1a7f37",
        "degraded" => "#9a6700",
        _ => "#cf222e",
    };
    format!(
        "<span class=\"azq-badge\" style=\"background:{colour};color:#fff;border-radius:0.6em;padding:0 0.5em;font-size:0.85em\">{}</span>",
        escape_html(availability)
    )
}

/// The device-code prompt: the link, the code with a copy button, and how long it lasts.
pub fn device_code(uri: &str, code: &str, expires_in: Duration) -> Bundle {
    let minutes = expires_in.as_secs().div_ceil(60);
    let plain = format!(
        "To sign in, use a web browser to open the page {uri} and enter the code {code} to authenticate. (The code expires in {minutes} minutes; interrupt the kernel to stop waiting.)"
    );
    let (u, c) = (escape_html(uri), escape_html(code));
    // Both come from the authority: the page is a link only when it is a web address, and
    // the code reaches the script as data, never as script text.
    let page = if uri.starts_with("https://") || uri.starts_with("http://") {
        format!("<a href=\"{u}\" target=\"_blank\" rel=\"noopener\">{u}</a>")
    } else {
        u
    };
    let html = format!(
        "<div class=\"azq-device-code\">To sign in, use a web browser to open the page \
         {page} and enter the code \
         <code style=\"font-weight:bold;font-size:1.1em\">{c}</code> \
         <button data-code=\"{c}\" onclick=\"navigator.clipboard.writeText(this.dataset.code)\" \
         title=\"Copy the code\">Copy</button> \
         to authenticate. <span style=\"opacity:0.75\">The code expires in {minutes} minutes; \
         interrupt the kernel to stop waiting.</span></div>"
    );
    Bundle::text(plain).with_html(html).with_data(
        "device-code",
        json!({ "verification_uri": uri, "user_code": code, "expires_in": expires_in.as_secs() }),
    )
}

pub fn signed_in(account: &str) -> Bundle {
    let text = format!("Signed in as {account}.");
    Bundle::text(text.clone()).with_html(format!("<div>{}</div>", escape_html(&text)))
}

/// Columns of text aligned under their heads, with a row of dashes between: the text/plain
/// form of every table the Azure magics show.
pub fn text_table<const N: usize>(heads: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = heads.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (c, w) in cols.zip(widths) {
            out.push_str(&format!("{c:<w$}  "));
        }
        out.trim_end().to_owned()
    };
    let dashes = widths.map(|w| "-".repeat(w));
    let mut text = line(&mut heads.iter().copied());
    text.push('\n');
    text.push_str(&line(&mut dashes.iter().map(String::as_str)));
    for r in rows {
        text.push('\n');
        text.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    text
}

/// An HTML table of text cells (escaped here): the text/html form beside `text_table`.
pub fn html_table<const N: usize>(class: &str, heads: [&str; N], rows: &[[String; N]]) -> String {
    let escaped: Vec<[String; N]> = rows
        .iter()
        .map(|r| r.each_ref().map(|c| escape_html(c)))
        .collect();
    html_table_of_markup(class, heads, &escaped)
}

/// A table cell aligned to the start, or to the end when it holds a number (a count, a time,
/// an amount). Every cell says so itself: JupyterLab right-aligns table cells, with a rule a
/// class selector in a `<style>` cannot override.
pub fn td(markup: &str) -> String {
    let numeric = markup.chars().any(|c| c.is_ascii_digit())
        && markup
            .trim_start_matches("USD ")
            .chars()
            .all(|c| c.is_ascii_digit() || " .,:%()-<>".contains(c));
    let side = if numeric { "end" } else { "start" };
    format!("<td style=\"text-align:{side}\">{markup}</td>")
}

/// An HTML table whose cells are markup already (a bar beside a figure, a link).
pub fn html_table_of_markup<const N: usize>(
    class: &str,
    heads: [&str; N],
    rows: &[[String; N]],
) -> String {
    let mut html = format!("<table class=\"{}\"><thead><tr>", escape_html(class));
    for h in heads {
        html.push_str(&format!(
            "<th style=\"text-align:start\">{}</th>",
            escape_html(h)
        ));
    }
    html.push_str("</tr></thead><tbody>");
    for r in rows {
        html.push_str("<tr>");
        for c in r {
            html.push_str(&td(c));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// One target's row under a line (`%azure.target`), or `None` when the workspace has no
/// such target.
pub fn target_row(c: &Connection, id: &str, line: &str) -> Option<Bundle> {
    let (provider, target) = c.providers.iter().find_map(|p| {
        p.targets
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(id))
            .map(|t| (p, t))
    })?;
    let queue = target
        .average_queue_time
        .map_or("-".into(), |q| q.to_string());
    let formats = super::translate::input_formats(&provider.id);
    let qubits = super::translate::qubits(&target.id);
    let qubits_text = qubits.map_or("-".into(), |q| q.to_string());
    let formats_text = formats.join(", ");
    let pricing = super::pricing::summary(&provider.id, &target.id);
    let heads = [
        "Target ID",
        "Provider",
        "Current Availability",
        "Average Queue Time (Seconds)",
        "Input Formats",
        "Qubits",
    ];
    let cells = [
        target.id.as_str(),
        provider.id.as_str(),
        target.current_availability.as_str(),
        queue.as_str(),
        formats_text.as_str(),
        qubits_text.as_str(),
    ];
    let row = [cells.map(str::to_owned)];
    let plain = format!("{line}\n{}\nPricing: {pricing}", text_table(heads, &row));
    let html = format!(
        "<div class=\"azq-target\"><p>{}</p><table><thead><tr>{}</tr></thead><tbody><tr>\
         <td style=\"text-align:start\"><code>{}</code></td><td style=\"text-align:start\">{}</td>\
         <td style=\"text-align:start\">{}</td><td style=\"text-align:end\">{}</td>\
         <td style=\"text-align:start\">{}</td><td style=\"text-align:end\">{}</td>\
         </tr></tbody></table><p>Pricing: {}</p></div>",
        escape_html(line),
        heads
            .iter()
            .map(|h| format!("<th style=\"text-align:start\">{h}</th>"))
            .collect::<String>(),
        escape_html(&target.id),
        escape_html(&provider.id),
        badge(&target.current_availability),
        escape_html(&queue),
        escape_html(&formats_text),
        escape_html(&qubits_text),
        escape_html(&pricing)
    );
    let data = json!({
        "id": target.id,
        "provider": provider.id,
        "current_availability": target.current_availability,
        "average_queue_time": target.average_queue_time,
        "input_formats": formats,
        "qubits": qubits,
        "pricing": pricing,
    });
    Some(
        Bundle::text(plain)
            .with_html(html)
            .with_data("target", data),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_code_prompt_keeps_what_the_authority_sent_out_of_script() {
        let b = device_code(
            "javascript:alert(1)",
            "');alert(1)//",
            Duration::from_secs(900),
        );
        let html = b.get("text/html").and_then(|v| v.as_str()).unwrap();
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert!(html.contains("writeText(this.dataset.code)"), "{html}");
        assert!(html.contains("data-code=\"&#39;);alert(1)//\""), "{html}");
        let b = device_code(
            "https://login.example/device",
            "ABC",
            Duration::from_secs(60),
        );
        let html = b.get("text/html").and_then(|v| v.as_str()).unwrap();
        assert!(
            html.contains("<a href=\"https://login.example/device\""),
            "{html}"
        );
    }
}
