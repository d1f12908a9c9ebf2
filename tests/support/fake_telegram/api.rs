//! Bot API methods: fault injection and call recording for `/bot<token>/<method>`, and the
//! handlers that answer each method against the shared state.

use super::files::get_file;
use super::http::{FaultStep, Request, api_error_json, apply_fault, write_head, write_json};
use super::params::{Uploads, param_i64, param_str, parse_params};
use super::state::{Shared, State, push_capped};
use super::updates::{bot_user_json, message_in_chat, unix_now};
use super::{BOT_ID, MEDIA_KINDS, Sent};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Methods whose calls are not recorded by [`FakeTelegram::sent`].
const UNRECORDED: [&str; 3] = ["getUpdates", "getMe", "getFile"];
/// Every Bot API method the fake answers; names are matched case-insensitively.
const KNOWN_METHODS: [&str; 29] = [
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "deleteMyCommands",
    "setMyDescription",
    "setMyShortDescription",
    "answerCallbackQuery",
    "deleteMessage",
    "sendChatAction",
    "logOut",
    "close",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "forwardMessage",
    "copyMessage",
    "getFile",
    "getChatMember",
    "exportChatInviteLink",
    "sendDocument",
    "sendPhoto",
    "sendVideo",
    "sendAudio",
    "sendAnimation",
    "sendVoice",
    "sendSticker",
];

/// Bot API error raised while answering a method.
pub(super) struct ApiError {
    pub(super) code: u16,
    pub(super) description: String,
}

pub(super) fn bad(description: &str) -> ApiError {
    ApiError { code: 400, description: format!("Bad Request: {description}") }
}

/// Telegram deletes a message once; a second delete (another press of a button on it, say)
/// answers 400.
fn delete_message(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let key = (require_chat(p)?, require_message_id(p)?);
    if !st.deleted.insert(key) {
        return Err(bad("message to delete not found"));
    }
    Ok(Value::Bool(true))
}

fn require_chat(params: &Value) -> Result<i64, ApiError> {
    match params.get("chat_id") {
        None | Some(Value::Null) => Err(bad("chat_id is empty")),
        Some(Value::String(s)) if s.starts_with('@') => Ok(-1_000_000_000_001),
        Some(_) => param_i64(params, "chat_id").ok_or_else(|| bad("chat not found")),
    }
}

fn require_message_id(params: &Value) -> Result<i64, ApiError> {
    param_i64(params, "message_id").ok_or_else(|| bad("message identifier is not specified"))
}

/// Copies `reply_markup` (a JSON object, or a JSON string as sent in forms) into `msg`.
fn attach_markup(msg: &mut Value, params: &Value) {
    match params.get("reply_markup") {
        Some(Value::String(s)) => {
            msg["reply_markup"] = serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()));
        }
        Some(v @ Value::Object(_)) => msg["reply_markup"] = v.clone(),
        _ => {}
    }
}

fn canonical_method(raw: &str) -> Option<&'static str> {
    KNOWN_METHODS.iter().find(|m| m.eq_ignore_ascii_case(raw)).copied()
}

fn dispatch(shared: &Shared, method: &str, p: &Value, uploads: &Uploads) -> Result<Value, ApiError> {
    match method {
        "getMe" => Ok(bot_user_json()),
        "getUpdates" => Ok(get_updates(shared, p)),
        "deleteWebhook"
        | "setWebhook"
        | "setMyCommands"
        | "deleteMyCommands"
        | "setMyDescription"
        | "setMyShortDescription"
        | "answerCallbackQuery"
        | "sendChatAction"
        | "logOut"
        | "close" => Ok(Value::Bool(true)),
        "getWebhookInfo" => Ok(json!({
            "url": "",
            "has_custom_certificate": false,
            "pending_update_count": shared.lock().updates.len(),
        })),
        "deleteMessage" => delete_message(&mut shared.lock(), p),
        "sendMessage" => send_message(&mut shared.lock(), p),
        "editMessageText" => edit_message(&mut shared.lock(), p, true),
        "editMessageReplyMarkup" => edit_message(&mut shared.lock(), p, false),
        "forwardMessage" => forward_message(&mut shared.lock(), p),
        "copyMessage" => copy_message(&mut shared.lock(), p),
        "getFile" => get_file(&mut shared.lock(), p),
        "getChatMember" => get_chat_member(&shared.lock(), p),
        "exportChatInviteLink" => Ok(json!(format!("https://t.me/+fakeInvite{}", require_chat(p)?.unsigned_abs()))),
        "sendDocument" => send_file(&mut shared.lock(), p, uploads, "document"),
        "sendPhoto" => send_file(&mut shared.lock(), p, uploads, "photo"),
        "sendVideo" => send_file(&mut shared.lock(), p, uploads, "video"),
        "sendAudio" => send_file(&mut shared.lock(), p, uploads, "audio"),
        "sendAnimation" => send_file(&mut shared.lock(), p, uploads, "animation"),
        "sendVoice" => send_file(&mut shared.lock(), p, uploads, "voice"),
        "sendSticker" => send_file(&mut shared.lock(), p, uploads, "sticker"),
        _ => Err(ApiError { code: 404, description: "Not Found".to_string() }),
    }
}

fn get_updates(shared: &Shared, p: &Value) -> Value {
    let offset = param_i64(p, "offset");
    let limit = param_i64(p, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = param_i64(p, "timeout").unwrap_or(0).clamp(0, 3600) as u64;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let allowed = allowed_updates(p);
    let mut st = shared.lock();
    push_capped(&mut st.offsets, offset);
    shared.notify();
    loop {
        match offset {
            Some(off) if off < 0 => {
                let keep = off.unsigned_abs() as usize;
                while st.updates.len() > keep {
                    st.updates.pop_front();
                }
            }
            Some(off) => st.updates.retain(|(id, _)| *id >= off),
            None => {}
        }
        // Like Telegram, kinds left out of `allowed_updates` are never delivered.
        if let Some(allowed) = &allowed {
            st.updates.retain(|(_, v)| delivered(v, allowed));
        }
        let batch: Vec<Value> = st.updates.iter().take(limit).map(|(_, v)| v.clone()).collect();
        let now = Instant::now();
        if !batch.is_empty() || now >= deadline || shared.stopping() {
            return Value::Array(batch);
        }
        st = shared.wait(st, deadline - now);
    }
}

/// Update kinds the fake knows; an update of one of them not in `allowed_updates` is dropped.
const UPDATE_KINDS: [&str; 5] = ["message", "edited_message", "channel_post", "edited_channel_post", "callback_query"];

/// The `allowed_updates` list of a getUpdates call (a JSON array, or its text in a form); `None`
/// when not given (every kind is delivered).
fn allowed_updates(p: &Value) -> Option<Vec<String>> {
    let list = match p.get("allowed_updates")? {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        other => other.clone(),
    };
    Some(list.as_array()?.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
}

fn delivered(update: &Value, allowed: &[String]) -> bool {
    UPDATE_KINDS.iter().all(|kind| update.get(*kind).is_none() || allowed.iter().any(|a| a == kind))
}

fn send_message(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let text = param_str(p, "text").unwrap_or_default();
    if text.is_empty() {
        return Err(bad("message text is empty"));
    }
    let mut msg = st.bot_message(chat_id);
    msg["text"] = json!(text);
    attach_markup(&mut msg, p);
    // Like Telegram, the reply carries the message it answers (and button presses on it do too).
    let reply_to = match p.get("reply_parameters") {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        other => other.cloned(),
    };
    if let Some(original) = reply_to.and_then(|r| param_i64(&r, "message_id")).and_then(|id| st.messages.get(&id)) {
        msg["reply_to_message"] = original.clone();
    }
    st.store_message(&msg);
    Ok(msg)
}

fn edit_message(st: &mut State, p: &Value, with_text: bool) -> Result<Value, ApiError> {
    if p.get("inline_message_id").is_some() {
        return Ok(Value::Bool(true));
    }
    let chat_id = require_chat(p)?;
    let message_id = require_message_id(p)?;
    let mut msg = st.messages.get(&message_id).cloned().unwrap_or_else(|| message_in_chat(message_id, chat_id));
    if with_text {
        let text = param_str(p, "text").unwrap_or_default();
        if text.is_empty() {
            return Err(bad("text must be non-empty"));
        }
        msg["text"] = json!(text);
    }
    if let Some(obj) = msg.as_object_mut() {
        obj.remove("reply_markup");
    }
    attach_markup(&mut msg, p);
    msg["edit_date"] = json!(unix_now());
    st.store_message(&msg);
    Ok(msg)
}

fn source_message(st: &State, p: &Value, what: &str) -> Result<Value, ApiError> {
    let from_chat = param_i64(p, "from_chat_id").ok_or_else(|| bad("chat not found"))?;
    let message_id = require_message_id(p)?;
    st.messages
        .get(&message_id)
        .filter(|m| m["chat"]["id"].as_i64() == Some(from_chat))
        .cloned()
        .ok_or_else(|| bad(&format!("message to {what} not found")))
}

fn forward_message(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let orig = source_message(st, p, "forward")?;
    let mut msg = st.bot_message(chat_id);
    let mut renamed = HashMap::new();
    for key in MEDIA_KINDS {
        if let Some(media) = orig.get(key) {
            msg[key] = st.clone_media(media, &mut renamed);
        }
    }
    for key in ["text", "entities", "caption", "caption_entities"] {
        if let Some(v) = orig.get(key) {
            msg[key] = v.clone();
        }
    }
    if let Some(from) = orig.get("from") {
        msg["forward_origin"] = json!({"type": "user", "date": orig["date"], "sender_user": from});
    } else if let Some(chat) = orig.get("sender_chat") {
        msg["forward_origin"] = json!({
            "type": "channel", "date": orig["date"], "chat": chat,
            "message_id": orig["message_id"],
        });
    }
    st.store_message(&msg);
    Ok(msg)
}

fn copy_message(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let orig = source_message(st, p, "copy")?;
    let mut msg = st.bot_message(chat_id);
    let id = msg["message_id"].clone();
    if let (Some(dst), Some(src)) = (msg.as_object_mut(), orig.as_object()) {
        for (k, v) in src {
            if !matches!(k.as_str(), "message_id" | "date" | "chat" | "from" | "sender_chat" | "forward_origin") {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(caption) = p.get("caption") {
        msg["caption"] = caption.clone();
    }
    attach_markup(&mut msg, p);
    st.store_message(&msg);
    Ok(json!({ "message_id": id }))
}

fn get_chat_member(st: &State, p: &Value) -> Result<Value, ApiError> {
    let user_id = param_i64(p, "user_id").ok_or_else(|| bad("user not found"))?;
    let status = st.member_status.get(&user_id.unsigned_abs()).cloned().unwrap_or_else(|| "member".to_string());
    let user = if user_id.unsigned_abs() == BOT_ID {
        bot_user_json()
    } else {
        json!({"id": user_id, "is_bot": false, "first_name": "User"})
    };
    let mut v = json!({"status": status, "user": user});
    match status.as_str() {
        "kicked" => v["until_date"] = json!(0),
        "creator" => v["is_anonymous"] = json!(false),
        _ => {}
    }
    Ok(v)
}

fn send_file(st: &mut State, p: &Value, uploads: &Uploads, kind: &str) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let from_upload = |st: &mut State, name: &str| {
        uploads.get(name).map(|u| st.register(Arc::new(u.bytes.clone()), None, &u.filename, &u.mime))
    };
    let file = match p.get(kind) {
        Some(Value::String(s)) => {
            if let Some(name) = s.strip_prefix("attach://") {
                from_upload(st, name)
            } else if let Some(f) = st.file_ref(s) {
                Some(f)
            } else if s.starts_with("http://") || s.starts_with("https://") {
                let name = s.rsplit('/').next().unwrap_or("file").to_string();
                Some(st.register(Arc::new(Vec::new()), None, &name, "application/octet-stream"))
            } else {
                None
            }
        }
        Some(Value::Object(_)) => from_upload(st, kind),
        _ => return Err(bad(&format!("there is no {kind} in the request"))),
    };
    let file = file.ok_or_else(|| bad("wrong file identifier/HTTP URL specified"))?;
    let mut msg = st.bot_message(chat_id);
    msg[kind] = st.media_json(kind, &file);
    if let Some(caption) = p.get("caption") {
        msg["caption"] = caption.clone();
    }
    attach_markup(&mut msg, p);
    st.store_message(&msg);
    Ok(msg)
}

/// The `retry_after` of a write to a chat that comes too soon after the last one (see
/// `FakeTelegram::set_chat_send_interval`); `None` lets it through and notes its time.
fn paced(shared: &Shared, method: &str, params: &Value) -> Option<u16> {
    let writes = method.starts_with("send") || method.starts_with("edit") || method.ends_with("Message");
    if !writes || method == "sendChatAction" || method == "deleteMessage" {
        return None;
    }
    let chat = param_i64(params, "chat_id")?;
    let mut st = shared.lock();
    let interval = st.chat_interval?;
    let now = Instant::now();
    if let Some(last) = st.chat_last_write.get(&chat)
        && now < *last + interval
    {
        let left = (*last + interval - now).as_secs_f64().ceil() as u16;
        return Some(left.max(1));
    }
    st.chat_last_write.insert(chat, now);
    None
}

pub(super) fn handle_method(
    shared: &Shared,
    req: &Request,
    token: &str,
    raw_method: &str,
    out: &mut TcpStream,
    keep: bool,
) -> io::Result<bool> {
    let canonical = canonical_method(raw_method);
    let key = raw_method.to_ascii_lowercase();
    let parsed = parse_params(req);
    let fault = {
        let mut st = shared.lock();
        st.note_token(token);
        st.count_call(&key);
        let chat = parsed.as_ref().ok().and_then(|(params, _)| param_i64(params, "chat_id"));
        let fault = chat.and_then(|chat| st.take_chat_fault(&key, chat)).or_else(|| st.take_fault(&key));
        shared.notify();
        fault
    };
    let (params, uploads) = match parsed {
        Ok(parsed) => parsed,
        Err(description) => {
            return write_json(out, 400, &api_error_json(400, &description, None), keep, false);
        }
    };
    let cut = match apply_fault(shared, fault, out, keep, false)? {
        FaultStep::Answered(keep) => return Ok(keep),
        FaultStep::Serve { cut } => cut,
    };
    if let Some(retry_after) = canonical.and_then(|m| paced(shared, m, &params)) {
        let body = api_error_json(429, &format!("Too Many Requests: retry after {retry_after}"), Some(retry_after));
        return write_json(out, 429, &body, keep, false);
    }
    let result = match canonical {
        Some(method) => dispatch(shared, method, &params, &uploads),
        None => Err(ApiError { code: 404, description: "Not Found".to_string() }),
    };
    // Recorded after the call took effect, so a waiter sees e.g. the new message already stored.
    let name = canonical.unwrap_or(raw_method);
    if !UNRECORDED.contains(&name) {
        let mut st = shared.lock();
        let message_id = result.as_ref().ok().and_then(|v| v.get("message_id")).and_then(Value::as_i64);
        push_capped(&mut st.sent, Sent { method: name.to_string(), params, message_id });
        shared.notify();
    }
    let (status, body) = match result {
        Ok(v) => (200, json!({"ok": true, "result": v})),
        Err(e) => (e.code, api_error_json(e.code, &e.description, None)),
    };
    match cut {
        None => write_json(out, status, &body, keep, false),
        Some(after) => {
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let ctype = [("Content-Type", "application/json".to_string())];
            write_head(out, status, &ctype, bytes.len() as u64, false)?;
            let n = (after as usize).min(bytes.len());
            out.write_all(&bytes[..n])?;
            out.flush()?;
            Ok(false)
        }
    }
}
