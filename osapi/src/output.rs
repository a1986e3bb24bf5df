//! Human output of the client: JSON values as aligned text tables.
//!
//! An object becomes `field  value` rows (nested objects as dotted names, lists of plain
//! values joined by `, `); a list of objects becomes a table with one column per field.

use serde_json::Value;

/// Columns padded to their widest cell, separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i == widths.len() {
                widths.push(0);
            }
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = Vec::new();
    if !header.is_empty() {
        out.push(line(header.to_vec()));
    }
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn is_object_list(value: &Value) -> bool {
    matches!(value, Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object))
}

fn flatten(
    prefix: &str,
    value: &Value,
    rows: &mut Vec<Vec<String>>,
    lists: &mut Vec<(String, Value)>,
) {
    match value {
        Value::Object(fields) => {
            for (name, v) in fields {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&key, v, rows, lists);
            }
        }
        v if is_object_list(v) => lists.push((prefix.to_string(), v.clone())),
        v => rows.push(vec![prefix.to_string(), scalar(v)]),
    }
}

/// A list of objects as a table, one column per field of the first object.
pub fn object_list(items: &[Value]) -> String {
    let columns: Vec<String> = items
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| item.get(c).map(scalar).unwrap_or_default())
                .collect()
        })
        .collect();
    let header: Vec<&str> = columns.iter().map(String::as_str).collect();
    table(&header, &rows)
}

/// Any reply as text.
pub fn render(value: &Value) -> String {
    if let Value::Array(items) = value {
        return if is_object_list(value) {
            object_list(items)
        } else {
            scalar(value)
        };
    }
    let mut rows = Vec::new();
    let mut lists = Vec::new();
    flatten("", value, &mut rows, &mut lists);
    let mut parts = Vec::new();
    if !rows.is_empty() {
        parts.push(table(&[], &rows));
    }
    for (name, list) in lists {
        if let Value::Array(items) = list {
            parts.push(format!("{name}:\n{}", object_list(&items)));
        }
    }
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_become_aligned_rows_and_lists_tables() {
        let text = render(&json!({
            "hostname": "web-1",
            "load": {"one": 0.5},
            "servers": ["192.0.2.1", "192.0.2.2"],
            "mounts": [{"mount_point": "/", "used": 10}, {"mount_point": "/boot", "used": 200}]
        }));
        assert_eq!(
            text,
            "hostname  web-1\nload.one  0.5\nservers   192.0.2.1, 192.0.2.2\n\n\
             mounts:\nmount_point  used\n/            10\n/boot        200"
        );
    }
}
