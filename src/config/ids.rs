//! Id lists (pure): `ADMINS` and `ALLOWED_USERS` (user ids), `CHANNELS` (the channels whose
//! media posts get Download / Watch buttons).

/// Channels listed at most: the list is searched for every channel post.
pub const MAX_CHANNELS: usize = 100;

/// User ids `ADMINS` or `ALLOWED_USERS` may list at most (80 KiB; each update searches them).
pub const MAX_USERS: usize = 10_000;

/// `ADMINS` and `ALLOWED_USERS`: user ids separated by spaces or commas, at most [`MAX_USERS`].
pub fn user_ids(list: &str) -> Option<Vec<u64>> {
    let ids: Option<Vec<u64>> = list.split([' ', ',']).filter(|s| !s.is_empty()).map(|s| s.parse().ok()).collect();
    ids.filter(|ids| ids.len() <= MAX_USERS)
}

/// `CHANNELS`: chat ids separated by spaces or commas, each negative (a channel's id is; a
/// positive id is a user's), at most [`MAX_CHANNELS`], repeats dropped.
pub fn chat_ids(list: &str) -> Option<Vec<i64>> {
    let mut ids: Vec<i64> = Vec::new();
    for part in list.split([' ', ',']).filter(|s| !s.is_empty()) {
        let id: i64 = part.parse().ok().filter(|&id: &i64| id < 0)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    (ids.len() <= MAX_CHANNELS).then_some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigError};
    use std::time::Duration;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn user_id_lists_are_split_on_spaces_and_commas_and_bounded() {
        assert_eq!(user_ids("5,6 7"), Some(vec![5, 6, 7]));
        assert_eq!(user_ids("5;6"), None);
        let many = (1..=MAX_USERS + 1).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
        assert_eq!(user_ids(&many), None);
    }

    #[test]
    fn channel_ids_are_split_on_spaces_and_commas_without_repeats() {
        assert_eq!(chat_ids("-1001, -1002 -1001"), Some(vec![-1001, -1002]));
        assert_eq!(chat_ids(""), Some(vec![]));
    }

    #[test]
    fn user_ids_words_and_overlong_lists_are_refused() {
        assert_eq!(chat_ids("-1001 42"), None);
        assert_eq!(chat_ids("-1001,@news"), None);
        let many: Vec<String> = (1..=MAX_CHANNELS as i64 + 1).map(|i| format!("-{i}")).collect();
        assert_eq!(chat_ids(&many.join(" ")), None);
        assert_eq!(chat_ids(&many[..MAX_CHANNELS].join(" ")).map(|v| v.len()), Some(MAX_CHANNELS));
    }

    #[test]
    fn channels_and_their_link_expiry_are_read_and_bad_values_name_the_variable() {
        let c = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert_eq!((c.channels.len(), c.channel_link_expiry), (0, None));
        let c = config(&[("BOT_TOKEN", "1:abc"), ("CHANNELS", "-1001, -1002"), ("CHANNEL_LINK_EXPIRY_SECONDS", "60")])
            .unwrap();
        assert_eq!((c.channels, c.channel_link_expiry), (vec![-1001, -1002], Some(Duration::from_secs(60))));
        let err = config(&[("BOT_TOKEN", "1:abc"), ("CHANNELS", "-1001 7")]).unwrap_err();
        assert_eq!(err.variable, "CHANNELS");
        let err = config(&[("BOT_TOKEN", "1:abc"), ("CHANNEL_LINK_EXPIRY_SECONDS", "-1")]).unwrap_err();
        assert_eq!(err.variable, "CHANNEL_LINK_EXPIRY_SECONDS");
    }

    #[test]
    fn allowed_users_let_in_the_listed_ids_and_admins_and_empty_lets_in_everyone() {
        let open = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert!(open.allowed_users.is_empty() && open.is_allowed(42));
        let c = config(&[("BOT_TOKEN", "1:abc"), ("ALLOWED_USERS", "5,6 7"), ("ADMINS", "9")]).unwrap();
        assert_eq!(c.allowed_users, vec![5, 6, 7]);
        assert!(c.is_allowed(6) && c.is_allowed(9) && !c.is_allowed(8));
        let err = config(&[("BOT_TOKEN", "1:abc"), ("ALLOWED_USERS", "5;6")]).unwrap_err();
        assert_eq!(err.variable, "ALLOWED_USERS");
    }
}
