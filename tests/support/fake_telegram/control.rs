//! Control routes under `/_fake/` for driving the fake by hand (e.g. with curl): upload a file,
//! send a text or a button press as a user, and list what the bot sent.

use super::http::{Request, api_error_json, not_found_json, write_json};
use super::params::{param_i64, param_str, parse_form};
use super::state::Shared;
use super::{FakeUser, MEDIA_KINDS};
use serde_json::{Value, json};
use std::io;
use std::net::TcpStream;
use std::sync::Arc;

pub(super) fn handle_control(
    shared: &Shared,
    req: &Request,
    route: &str,
    out: &mut TcpStream,
    keep: bool,
) -> io::Result<bool> {
    let q = Value::Object(parse_form(&req.query));
    let user_id = param_i64(&q, "user").map(i64::unsigned_abs).unwrap_or(1);
    let default_name = if user_id == 1 { "Alice".to_string() } else { format!("User{user_id}") };
    let user = FakeUser::new(user_id, &param_str(&q, "first_name").unwrap_or(default_name));
    let result = match (req.method.as_str(), route) {
        ("POST", "upload") => {
            let name = param_str(&q, "name").unwrap_or_else(|| "file.bin".to_string());
            let mime = param_str(&q, "mime").unwrap_or_else(|| "application/octet-stream".to_string());
            let kind = param_str(&q, "kind").unwrap_or_else(|| "document".to_string());
            if !MEDIA_KINDS.contains(&kind.as_str()) {
                return write_json(out, 400, &api_error_json(400, "unknown kind", None), keep, false);
            }
            let file = shared.lock().register(Arc::new(req.body.clone()), None, &name, &mime);
            let update_id = shared.send_media(&user, &kind, &file);
            json!({
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "size": file.size,
                "update_id": update_id,
            })
        }
        ("POST", "text") => {
            let text = String::from_utf8_lossy(&req.body).into_owned();
            json!({ "update_id": shared.send_text(&user, &text) })
        }
        ("POST", "callback") => {
            let message_id = param_i64(&q, "message_id").unwrap_or(0);
            let data = param_str(&q, "data").unwrap_or_else(|| String::from_utf8_lossy(&req.body).into_owned());
            json!({ "update_id": shared.send_callback(&user, message_id, &data) })
        }
        ("GET", "sent") => {
            let sent: Vec<Value> = shared
                .lock()
                .sent
                .iter()
                .map(|s| json!({"method": s.method, "message_id": s.message_id, "params": s.params}))
                .collect();
            return write_json(out, 200, &Value::Array(sent), keep, false);
        }
        _ => return write_json(out, 404, &not_found_json(), keep, req.method == "HEAD"),
    };
    write_json(out, 200, &json!({"ok": true, "result": result}), keep, false)
}
