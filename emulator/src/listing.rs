//! Lists as the service pages them: the SDK's filter grammar (`startswith(Name, '…')`,
//! `(Field eq '…' or …)`, `CreationTime ge|le date`, clauses joined by `and`), `orderby`,
//! `top`, `skip`, and an absolute `nextLink`.

use serde_json::{Value, json};

use crate::store::Item;

/// Pages hold at most this many items when `top` is absent.
pub const PAGE: usize = 100;

/// Filter and order fields, as the SDK names them (any case; `provider`, `type` and
/// `created` are accepted too, as the spec's examples write them).
fn field(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "name" => "name",
        "itemtype" | "type" => "itemType",
        "jobtype" => "jobType",
        "providerid" | "provider" => "providerId",
        "target" => "target",
        "state" | "status" => "status",
        "creationtime" | "created" => "creationTime",
        "sessionid" => "sessionId",
        _ => return None,
    })
}

type Test = Box<dyn Fn(&Item) -> bool>;

fn text(item: &Item, key: &str) -> String {
    str_of(item, key).to_owned()
}

fn str_of<'a>(item: &'a Item, key: &str) -> &'a str {
    item.get(key).and_then(Value::as_str).unwrap_or("")
}

fn unquote(s: &str) -> Option<&str> {
    s.trim().strip_prefix('\'')?.strip_suffix('\'')
}

/// Splits at a top-level ` and ` / ` or `.
fn split_top<'a>(s: &'a str, word: &str) -> Vec<&'a str> {
    let (mut depth, mut quoted, mut start, mut out) = (0i32, false, 0usize, Vec::new());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            // Compared as bytes: `i` may sit inside a multi-byte character, and `word` is
            // ASCII, so a match always starts and ends on character boundaries.
            _ if !quoted && depth == 0 && bytes[i..].starts_with(word.as_bytes()) => {
                out.push(&s[start..i]);
                i += word.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

fn clause(c: &str) -> Result<Test, String> {
    let c = c.trim();
    if let Some(inner) = c
        .strip_prefix("startswith(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (f, v) = inner
            .split_once(',')
            .ok_or("startswith takes a field and a prefix")?;
        let key = field(f.trim()).ok_or_else(|| format!("unknown field `{}`", f.trim()))?;
        let prefix = unquote(v).ok_or("the prefix must be quoted")?.to_owned();
        return Ok(Box::new(move |i| text(i, key).starts_with(&prefix)));
    }
    if let Some(inner) = c.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        let alternatives = split_top(inner, " or ")
            .into_iter()
            .map(clause)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Box::new(move |i| alternatives.iter().any(|t| t(i))));
    }
    let words: Vec<&str> = c.splitn(3, ' ').collect();
    let [f, op, v] = words[..] else {
        return Err(format!("cannot read `{c}`"));
    };
    let key = field(f).ok_or_else(|| format!("unknown field `{f}`"))?;
    match op {
        "eq" => {
            // Quoted as the SDK writes values, or a bare word as the spec's examples do.
            let want = match unquote(v) {
                Some(q) => q.to_owned(),
                None if v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) =>
                {
                    v.to_owned()
                }
                None => return Err(format!("value `{v}` must be quoted")),
            };
            Ok(Box::new(move |i| text(i, key).eq_ignore_ascii_case(&want)))
        }
        "ge" | "le" | "gt" | "lt" if key == "creationTime" => {
            let bound = v.trim().trim_matches('\'').to_owned();
            let op = op.to_owned();
            Ok(Box::new(move |i| {
                let t = text(i, key);
                // The bound's precision (a date compares with a timestamp's date part).
                let t = t.get(..bound.len().min(t.len())).unwrap_or(&t);
                match op.as_str() {
                    "ge" => t >= bound.as_str(),
                    "le" => t <= bound.as_str(),
                    "gt" => t > bound.as_str(),
                    _ => t < bound.as_str(),
                }
            }))
        }
        other => Err(format!("operator `{other}` is not supported here")),
    }
}

/// Filters, orders and pages `items`; `link` builds the next page's URL from a skip.
/// `items` come in creation order (the default order). Only the page's items are rendered
/// (`render`), so a page of a long list costs a scan, not a rendering of every item.
pub fn page<'a>(
    items: impl Iterator<Item = &'a Item>,
    query: &[(String, String)],
    link: impl Fn(usize, usize) -> String,
    render: impl Fn(&Item) -> Value,
) -> Result<Value, String> {
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n.trim_start_matches('$') == k)
            .map(|(_, v)| v.as_str())
    };
    let tests = match get("filter").filter(|f| !f.trim().is_empty()) {
        Some(f) => split_top(f, " and ")
            .into_iter()
            .map(clause)
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let order = match get("orderby").filter(|o| !o.trim().is_empty()) {
        None => None,
        Some(o) => {
            let mut parts = o.split_whitespace();
            let key = parts
                .next()
                .and_then(field)
                .ok_or_else(|| format!("cannot order by `{o}`"))?;
            let desc = match parts.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => return Err(format!("order must be asc or desc, not `{other}`")),
            };
            Some((key, desc))
        }
    };
    let number = |k: &str, default: usize| -> Result<usize, String> {
        get(k).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("`{k}` must be a whole number"))
        })
    };
    let skip = number("skip", 0)?;
    let top = number("top", PAGE)?.clamp(1, 1000);
    let matching = items.filter(|i| tests.iter().all(|t| t(i)));
    // Without an order the items stream in creation order: a page reads only as far as it
    // needs, plus one item to know whether another page follows.
    let window: Vec<&Item> = match order {
        None => matching.skip(skip).take(top + 1).collect(),
        Some((key, desc)) => {
            let mut all: Vec<&Item> = matching.collect();
            all.sort_by(|a, b| str_of(a, key).cmp(str_of(b, key)));
            if desc {
                all.reverse();
            }
            all.into_iter().skip(skip).take(top + 1).collect()
        }
    };
    let more = window.len() > top;
    let value: Vec<Value> = window.into_iter().take(top).map(render).collect();
    let next = more.then(|| link(skip + top, top));
    Ok(json!({ "value": value, "nextLink": next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, status: &str, provider: &str, created: &str) -> Item {
        json!({"name": name, "status": status, "providerId": provider, "creationTime": created, "itemType": "Job"})
            .as_object()
            .unwrap()
            .clone()
    }

    fn p(
        items: &[Item],
        q: &[(String, String)],
        link: impl Fn(usize, usize) -> String,
    ) -> Result<Value, String> {
        page(items.iter(), q, link, |i| Value::Object(i.clone()))
    }

    fn names(v: &Value) -> Vec<&str> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect()
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn sdk_filters_orders_and_pages() {
        let items = vec![
            item("alpha", "Succeeded", "ionq", "2026-01-01T00:00:00"),
            item("beta", "Failed", "quantinuum", "2026-01-02T00:00:00"),
            item("alps", "Cancelled", "IonQ", "2026-01-03T00:00:00"),
        ];
        let link = |s: usize, t: usize| format!("next?skip={s}&top={t}");
        let f = "startswith(Name, 'al') and (State eq 'Succeeded' or State eq 'Cancelled') and (ProviderId eq 'ionq')";
        assert_eq!(
            names(&p(&items, &q(&[("filter", f)]), link).unwrap()),
            ["alpha", "alps"]
        );
        let f = "CreationTime ge 2026-01-02 and CreationTime le 2026-01-02";
        assert_eq!(
            names(&p(&items, &q(&[("filter", f)]), link).unwrap()),
            ["beta"]
        );
        let v = p(&items, &q(&[("orderby", "Name desc"), ("top", "2")]), link).unwrap();
        assert_eq!(names(&v), ["beta", "alps"]);
        assert_eq!(v["nextLink"], "next?skip=2&top=2");
        let v = p(&items, &q(&[("skip", "2"), ("top", "2")]), link).unwrap();
        assert_eq!((names(&v), v["nextLink"].is_null()), (vec!["alps"], true));
        for bad in [
            "Color eq 'red'",
            "Name eq 'red",
            "startswith(Name)",
            "Name ne 'x'",
            "Name eq 'x' and",
        ] {
            assert!(p(&items, &q(&[("filter", bad)]), link).is_err(), "{bad}");
        }
        assert!(p(&items, &q(&[("top", "many")]), link).is_err());
    }
}
