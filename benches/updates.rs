//! Decoding a `getUpdates` batch of 100 mixed updates (text, documents, videos, photos, button
//! presses), as the poller does: envelope to JSON values, then each to an update. A busy bot
//! decodes a batch per poll.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use streambot::hot_paths::decode_updates;

fn update(i: u64) -> serde_json::Value {
    let from = json!({"id": 1000 + i % 50, "is_bot": false, "first_name": "User"});
    let chat = json!({"id": 1000 + i % 50, "type": "private"});
    let base = json!({"message_id": i, "date": 1_800_000_000u64, "from": from, "chat": chat});
    let mut message = base.as_object().cloned().unwrap_or_default();
    match i % 5 {
        0 => message.insert("text".into(), json!("/start")),
        1 => message.insert(
            "document".into(),
            json!({"file_id": format!("BQAC{i}"), "file_unique_id": format!("AgAD{i}"),
            "file_name": "report.pdf", "mime_type": "application/pdf", "file_size": 123_456}),
        ),
        2 => message.insert(
            "video".into(),
            json!({"file_id": format!("BAAC{i}"), "file_unique_id": format!("AgAV{i}"),
            "width": 1280, "height": 720, "duration": 60, "mime_type": "video/mp4", "file_size": 9_000_000}),
        ),
        3 => message.insert(
            "photo".into(),
            json!([{"file_id": "s", "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": "l", "file_unique_id": "l", "width": 1280, "height": 1280, "file_size": 90_000}]),
        ),
        _ => {
            return json!({"update_id": i, "callback_query": {"id": format!("{i}"), "from": from,
                "chat_instance": "c", "data": "help", "message": base}});
        }
    };
    json!({"update_id": i, "message": message})
}

fn bench(c: &mut Criterion) {
    let batch: Vec<_> = (0..100).map(update).collect();
    let body = serde_json::to_vec(&json!({"ok": true, "result": batch})).unwrap_or_default();
    assert_eq!(decode_updates(&body), 100, "every update of the batch decodes");
    c.bench_function("getUpdates: a batch of 100 mixed updates", |b| b.iter(|| decode_updates(black_box(&body))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
