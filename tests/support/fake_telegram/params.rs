//! Request parameters: query strings, urlencoded forms, JSON bodies and multipart uploads,
//! plus typed lookups of single parameters.

use super::http::Request;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Bot API methods

pub(super) type Uploads = HashMap<String, Upload>;

pub(super) struct Upload {
    pub(super) filename: String,
    pub(super) mime: String,
    pub(super) bytes: Vec<u8>,
}

pub(super) fn param_i64(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn param_str(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub(super) fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn parse_form(s: &str) -> Map<String, Value> {
    let mut map = Map::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(percent_decode(k, true), Value::String(percent_decode(v, true)));
    }
    map
}

pub(super) fn parse_params(req: &Request) -> Result<(Value, Uploads), String> {
    let mut map = parse_form(&req.query);
    let mut uploads = Uploads::new();
    let ctype_raw = req.header("content-type").unwrap_or("");
    let ctype = ctype_raw.to_ascii_lowercase();
    if !req.body.is_empty() {
        if ctype.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(obj)) => map.extend(obj),
                _ => return Err("Bad Request: can't parse JSON object".to_string()),
            }
        } else if ctype.starts_with("application/x-www-form-urlencoded") {
            map.extend(parse_form(&String::from_utf8_lossy(&req.body)));
        } else if ctype.starts_with("multipart/form-data") {
            let boundary = ctype
                .find("boundary=")
                .map(|i| &ctype_raw[i + "boundary=".len()..])
                .map(|b| b.split(';').next().unwrap_or("").trim().trim_matches('"'))
                .filter(|b| !b.is_empty())
                .ok_or_else(|| "Bad Request: multipart boundary is missing".to_string())?;
            parse_multipart(&req.body, boundary, &mut map, &mut uploads);
        } else if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&req.body) {
            map.extend(obj);
        }
    }
    Ok((Value::Object(map), uploads))
}

pub(super) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn parse_multipart(body: &[u8], boundary: &str, map: &mut Map<String, Value>, uploads: &mut Uploads) {
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = format!("\r\n--{boundary}").into_bytes();
    let Some(first) = find(body, &delim, 0) else {
        return;
    };
    let mut pos = first + delim.len();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            break;
        }
        let start = if rest.starts_with(b"\r\n") {
            pos + 2
        } else if rest.starts_with(b"\n") {
            pos + 1
        } else {
            pos
        };
        let Some(end) = find(body, &next_delim, start) else {
            break;
        };
        multipart_part(&body[start..end], map, uploads);
        pos = end + next_delim.len();
    }
}

fn multipart_part(part: &[u8], map: &mut Map<String, Value>, uploads: &mut Uploads) {
    let (head, data) = if part.starts_with(b"\r\n") {
        (&part[..0], &part[2..])
    } else {
        match find(part, b"\r\n\r\n", 0) {
            Some(i) => (&part[..i], &part[i + 4..]),
            None => return,
        }
    };
    let head = String::from_utf8_lossy(head);
    let mut name = None;
    let mut filename = None;
    let mut mime = None;
    for line in head.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "content-disposition" {
            for param in value.split(';') {
                if let Some((pk, pv)) = param.trim().split_once('=') {
                    let pv = pv.trim().trim_matches('"').to_string();
                    match pk.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(pv),
                        "filename" => filename = Some(pv),
                        _ => {}
                    }
                }
            }
        } else if key == "content-type" {
            mime = Some(value.trim().to_string());
        }
    }
    let Some(name) = name else {
        return;
    };
    match filename {
        Some(filename) => {
            map.insert(name.clone(), json!({"filename": filename, "len": data.len()}));
            uploads.insert(
                name,
                Upload {
                    filename,
                    mime: mime.unwrap_or_else(|| "application/octet-stream".to_string()),
                    bytes: data.to_vec(),
                },
            );
        }
        None => {
            map.insert(name, Value::String(String::from_utf8_lossy(data).into_owned()));
        }
    }
}
