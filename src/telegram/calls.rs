//! How the transport treats each Bot API call: which deadline it runs under, whether it takes a
//! turn on the wire, and whether it waits out a 429. One table, [`policy`], maps a method name to
//! its [`CallPolicy`]; the transport reads the fields and compares no method names (pure).

/// Whether a call waits out 429s (up to the transport's retry limits) or gives up at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    Wait,
    Skip,
}

/// The deadline a call runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// An ordinary call: connect to last body byte within the transport's call deadline.
    Call,
    /// The long poll: the poll timeout plus a margin, so the server answers first.
    LongPoll,
}

/// How one Bot API call is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPolicy {
    pub deadline: Deadline,
    /// Takes one of the transport's turns on the wire (which bound the TLS connections open at
    /// once). The long poll runs one at a time and must never wait behind replies; `getFile` has
    /// its own bounds (one per download, a few pre-warms) and a local Bot API server answers it
    /// only once it holds the whole file, so it must not make replies wait either.
    pub wire_turn: bool,
    pub patience: Patience,
}

impl CallPolicy {
    /// `getUpdates`.
    pub const LONG_POLL: CallPolicy =
        CallPolicy { deadline: Deadline::LongPoll, wire_turn: false, patience: Patience::Wait };
    /// `getFile`.
    pub const FILE_LOOKUP: CallPolicy =
        CallPolicy { deadline: Deadline::Call, wire_turn: false, patience: Patience::Wait };
    /// Every other call: replies, edits, `getMe`, `setMyCommands`, …
    pub const ORDINARY: CallPolicy = CallPolicy { deadline: Deadline::Call, wire_turn: true, patience: Patience::Wait };

    /// This policy, but a 429 or a hold on the chat fails the call at once.
    pub fn or_skip(self) -> CallPolicy {
        CallPolicy { patience: Patience::Skip, ..self }
    }
}

/// The policy of a call to `method`, as frankenstein and this crate spell it.
pub fn policy(method: &str) -> CallPolicy {
    match method {
        "getUpdates" => CallPolicy::LONG_POLL,
        "getFile" => CallPolicy::FILE_LOOKUP,
        _ => CallPolicy::ORDINARY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_poll_and_get_file_skip_the_wire_turn_and_only_the_long_poll_waits_long() {
        assert_eq!(
            policy("getUpdates"),
            CallPolicy { deadline: Deadline::LongPoll, wire_turn: false, patience: Patience::Wait }
        );
        assert_eq!(
            policy("getFile"),
            CallPolicy { deadline: Deadline::Call, wire_turn: false, patience: Patience::Wait }
        );
        for method in ["sendMessage", "editMessageText", "forwardMessage", "getMe", "getChatMember", "sendDocument"] {
            assert_eq!(policy(method), CallPolicy::ORDINARY, "{method}");
        }
        assert_eq!(policy("sendMessage").deadline, Deadline::Call);
        assert!(policy("sendMessage").wire_turn, "replies take a turn on the wire");
    }

    #[test]
    fn or_skip_changes_only_the_patience() {
        let skip = policy("forwardMessage").or_skip();
        assert_eq!(skip, CallPolicy { patience: Patience::Skip, ..CallPolicy::ORDINARY });
    }
}
