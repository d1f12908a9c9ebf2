//! What the bot remembers about Telegram users between updates, in fixed tables `BotState` holds:
//! whether a user is in `FORCE_SUB_CHANNEL` ([`member_cache`], asked by `bot::force_sub`) and when
//! a refused user was last told so ([`told`], asked by `bot::access` and `bot::bans`). Pure.

pub mod member_cache;
pub mod told;
