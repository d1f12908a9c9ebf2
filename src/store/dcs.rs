//! Direct mode's MTProto state: one auth key per DC (made by a handshake that costs seconds, so
//! kept across restarts) and the bot's home DC, where its files are read after logging in.

use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// Bytes of an MTProto auth key (2048 bits).
pub const AUTH_KEY_LEN: usize = 256;
/// Keys read at most: Telegram has five DCs, `TELEGRAM_DC_ADDRESS` names at most 16.
const MAX_DC_KEYS: i64 = 32;

impl Store {
    /// The stored auth keys, by DC id; a blob of another length (an outside writer, a torn
    /// row) counts as no key for its DC.
    pub fn dc_keys(&self) -> Result<Vec<(i32, [u8; AUTH_KEY_LEN])>, StoreError> {
        let mut q = self.conn().prepare_cached("SELECT dc, auth_key FROM mtproto_dcs ORDER BY dc LIMIT ?1")?;
        let rows = q.query_map(params![MAX_DC_KEYS], |r| {
            let key = match r.get_ref(1)? {
                ValueRef::Blob(bytes) => <[u8; AUTH_KEY_LEN]>::try_from(bytes).ok(),
                _ => None,
            };
            Ok(i32::try_from(r.get::<_, i64>(0)?).ok().zip(key))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            keys.extend(row?);
        }
        Ok(keys)
    }

    /// Keeps `key` as the auth key of `dc`, replacing the one it had.
    pub fn save_dc_key(&self, dc: i32, key: &[u8; AUTH_KEY_LEN]) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO mtproto_dcs(dc, auth_key, created_at) VALUES(?1, ?2, CAST(strftime('%s', 'now') AS INTEGER))
             ON CONFLICT(dc) DO UPDATE SET auth_key = excluded.auth_key, created_at = excluded.created_at",
            params![dc, &key[..]],
        )?;
        Ok(())
    }

    /// Drops the auth key of `dc` (the DC no longer knows it); the next connection makes a new one.
    pub fn forget_dc_key(&self, dc: i32) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM mtproto_dcs WHERE dc = ?1", params![dc])?;
        Ok(())
    }

    /// The bot's home DC, once a login told it.
    pub fn home_dc(&self) -> Result<Option<i32>, StoreError> {
        let dc: Option<i64> =
            self.conn().query_row("SELECT dc FROM mtproto_home WHERE id = 1", [], |r| r.get(0)).optional()?;
        Ok(dc.and_then(|dc| i32::try_from(dc).ok()))
    }

    /// Records the bot's home DC (a login answered with a migration to another DC).
    pub fn set_home_dc(&self, dc: i32) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO mtproto_home(id, dc) VALUES(1, ?1) ON CONFLICT(id) DO UPDATE SET dc = excluded.dc",
            params![dc],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fill: u8) -> [u8; AUTH_KEY_LEN] {
        [fill; AUTH_KEY_LEN]
    }

    #[test]
    fn auth_keys_are_saved_replaced_and_forgotten_per_dc() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.dc_keys().unwrap(), vec![]);
        store.save_dc_key(4, &key(4)).unwrap();
        store.save_dc_key(2, &key(2)).unwrap();
        store.save_dc_key(4, &key(44)).unwrap();
        assert_eq!(store.dc_keys().unwrap(), vec![(2, key(2)), (4, key(44))]);
        store.forget_dc_key(2).unwrap();
        store.forget_dc_key(3).unwrap();
        assert_eq!(store.dc_keys().unwrap(), vec![(4, key(44))]);
    }

    #[test]
    fn a_key_of_the_wrong_length_or_type_is_ignored() {
        let store = Store::open_in_memory().unwrap();
        store.save_dc_key(1, &key(1)).unwrap();
        let insert = "INSERT INTO mtproto_dcs(dc, auth_key, created_at) VALUES(?1, ?2, 0)";
        store.conn().execute(insert, params![2, vec![7u8; 255]]).unwrap();
        store.conn().execute(insert, params![3, vec![7u8; 257]]).unwrap();
        store.conn().execute(insert, params![4, "text, not a blob"]).unwrap();
        store.conn().execute(insert, params![i64::MAX, vec![7u8; 256]]).unwrap();
        assert_eq!(store.dc_keys().unwrap(), vec![(1, key(1))]);
        store.save_dc_key(2, &key(2)).unwrap();
        assert_eq!(store.dc_keys().unwrap(), vec![(1, key(1)), (2, key(2))], "a good key replaces a bad one");
    }

    #[test]
    fn the_home_dc_is_one_value_that_persists_across_reopen() {
        let dir = std::env::temp_dir().join(format!("streambot-store-home-dc-{}", std::process::id()));
        {
            let store = Store::open(&dir).unwrap();
            assert_eq!(store.home_dc().unwrap(), None);
            store.set_home_dc(2).unwrap();
            store.set_home_dc(4).unwrap();
            store.save_dc_key(4, &key(9)).unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.home_dc().unwrap(), Some(4));
        assert_eq!(store.dc_keys().unwrap(), vec![(4, key(9))]);
        drop(store);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
