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
    item.get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
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
            _ if !quoted && depth == 0 && s[i..].starts_with(word) => {
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
                let t = &t[..bound.len().min(t.len())];
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
pub fn page(
    mut items: Vec<Item>,
    query: &[(String, String)],
    link: impl Fn(usize, usize) -> String,
) -> Result<Value, String> {
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n.trim_start_matches('$') == k)
            .map(|(_, v)| v.as_str())
    };
    if let Some(f) = get("filter").filter(|f| !f.trim().is_empty()) {
        let tests = split_top(f, " and ")
            .into_iter()
            .map(clause)
            .collect::<Result<Vec<_>, _>>()?;
        items.retain(|i| tests.iter().all(|t| t(i)));
    }
    items.sort_by_key(|i| text(i, "creationTime"));
    if let Some(o) = get("orderby").filter(|o| !o.trim().is_empty()) {
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
        items.sort_by_key(|i| text(i, key));
        if desc {
            items.reverse();
        }
    }
    let number = |k: &str, default: usize| -> Result<usize, String> {
        get(k).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("`{k}` must be a whole number"))
        })
    };
    let skip = number("skip", 0)?;
    let top = number("top", PAGE)?.clamp(1, 1000);
    let total = items.len();
    let value: Vec<Value> = items
        .into_iter()
        .skip(skip)
        .take(top)
        .map(Value::Object)
        .collect();
    let next = (skip + top < total).then(|| link(skip + top, top));
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
            names(&page(items.clone(), &q(&[("filter", f)]), link).unwrap()),
            ["alpha", "alps"]
        );
        let f = "CreationTime ge 2026-01-02 and CreationTime le 2026-01-02";
        assert_eq!(
            names(&page(items.clone(), &q(&[("filter", f)]), link).unwrap()),
            ["beta"]
        );
        let v = page(
            items.clone(),
            &q(&[("orderby", "Name desc"), ("top", "2")]),
            link,
        )
        .unwrap();
        assert_eq!(names(&v), ["beta", "alps"]);
        assert_eq!(v["nextLink"], "next?skip=2&top=2");
        let v = page(items.clone(), &q(&[("skip", "2"), ("top", "2")]), link).unwrap();
        assert_eq!((names(&v), v["nextLink"].is_null()), (vec!["alps"], true));
        for bad in [
            "Color eq 'red'",
            "Name eq 'red",
            "startswith(Name)",
            "Name ne 'x'",
            "Name eq 'x' and",
        ] {
            assert!(
                page(items.clone(), &q(&[("filter", bad)]), link).is_err(),
                "{bad}"
            );
        }
        assert!(page(items, &q(&[("top", "many")]), link).is_err());
    }
}
