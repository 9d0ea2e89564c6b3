//! One readable line per command, for `pinwheel journal inspect` and logs.

use std::fmt::Write;

use crate::message::{Command, CommandBody};

/// Describes a command: sequence, time, origin, kind and its body's fields (the command
/// table decides how the body is read).
pub fn describe_command(command: &Command) -> String {
    let head = &command.head;
    let mut line = format!(
        "seq={} ts={} edge={} req={} user={} ",
        head.sequence, head.timestamp_ns, head.edge_id, head.request_id, head.user_id
    );
    let Some(body) = CommandBody::decode(command) else {
        let _ = write!(line, "UNKNOWN(kind={})", head.kind);
        return line;
    };
    let kind = crate::message::CommandKind::from_u8(head.kind).expect("decoded kinds are known");
    let _ = write!(line, "{} ", kind.name());
    body.body().describe(&mut line);
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{text_field, ApiKey, CommandKind, PlaceOrder};

    #[test]
    fn describes_an_order_and_an_unknown_kind() {
        let order = PlaceOrder {
            market: 1,
            price: 100,
            quantity: 3,
            client_order_id: text_field("abc").unwrap(),
            ..Default::default()
        };
        let mut command = Command::new(CommandKind::PlaceOrder as u8, &order);
        command.head.sequence = 7;
        let line = describe_command(&command);
        assert!(line.starts_with("seq=7 "), "{line}");
        assert!(
            line.contains("PlaceOrder market=1")
                && line.contains("price=100 qty=3")
                && line.contains("coid=\"abc\""),
            "{line}"
        );
        let key = ApiKey {
            key_id: [0xab; 16],
            admin: 1,
            ..Default::default()
        };
        let line = describe_command(&Command::new(CommandKind::QueryApiKey as u8, &key));
        assert!(
            line.ends_with(&format!("QueryApiKey key_id={} admin=1", "ab".repeat(16))),
            "{line}"
        );
        command.head.kind = 250;
        assert!(describe_command(&command).contains("UNKNOWN(kind=250)"));
    }
}
