//! Per-chat lanes (pure): which lane an update runs in. Updates of one lane run one after
//! another, lanes side by side and in turns (the journal in the store keeps the queue; the
//! dispatcher runs it).

use frankenstein::types::MaybeInaccessibleMessage;
use frankenstein::updates::{Update, UpdateContent};

/// The lane of an update: a chat id, or `None` for the one lane shared by updates without a chat.
pub type Lane = Option<i64>;

/// Which lane `update` runs in: the chat of its message (or of the message a button sits on),
/// else its sender; updates with neither share one lane.
pub fn lane_of(update: &Update) -> Lane {
    match &update.content {
        UpdateContent::Message(m)
        | UpdateContent::EditedMessage(m)
        | UpdateContent::ChannelPost(m)
        | UpdateContent::EditedChannelPost(m)
        | UpdateContent::BusinessMessage(m)
        | UpdateContent::EditedBusinessMessage(m) => Some(m.chat.id),
        UpdateContent::CallbackQuery(q) => match &q.message {
            Some(MaybeInaccessibleMessage::Message(m)) => Some(m.chat.id),
            Some(MaybeInaccessibleMessage::InaccessibleMessage(m)) => Some(m.chat.id),
            None => i64::try_from(q.from.id).ok(),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_buttons_run_in_their_chat_and_others_share_a_lane() {
        let update = |content: serde_json::Value| -> Update {
            let mut v = content;
            v["update_id"] = 1.into();
            serde_json::from_value(v).unwrap()
        };
        let chat = serde_json::json!({"id": -77, "type": "group", "title": "g"});
        let from = serde_json::json!({"id": 5, "is_bot": false, "first_name": "A"});
        let message = serde_json::json!({"message_id": 1, "date": 0, "chat": chat, "from": from});
        assert_eq!(lane_of(&update(serde_json::json!({"message": message}))), Some(-77));
        let press = serde_json::json!({"id": "q", "from": from, "chat_instance": "c", "message": message});
        assert_eq!(lane_of(&update(serde_json::json!({"callback_query": press}))), Some(-77));
        let inline = serde_json::json!({"id": "q", "from": from, "chat_instance": "c", "inline_message_id": "i"});
        assert_eq!(lane_of(&update(serde_json::json!({"callback_query": inline}))), Some(5));
        let poll = serde_json::json!({"poll": {"id": "p", "question": "?", "options": [], "total_voter_count": 0,
            "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}});
        assert_eq!(lane_of(&update(poll)), None);
    }
}
