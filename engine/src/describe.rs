//! One readable line per command, for `pinwheel journal inspect` and logs.

use std::fmt::Write;

use crate::message::{
    text_str, AmendOrder, ApiKey, CancelOrder, Command, CommandKind, CreateUser, DepthRequest,
    MarketScope, PlaceOrder, QuoteRequest, Transfer, UserLookup,
};

/// Describes a command: sequence, time, origin, kind and its body's fields.
pub fn describe_command(command: &Command) -> String {
    let head = &command.head;
    let mut line = format!(
        "seq={} ts={} edge={} req={} user={} ",
        head.sequence, head.timestamp_ns, head.edge_id, head.request_id, head.user_id
    );
    let Some(kind) = CommandKind::from_u8(head.kind) else {
        let _ = write!(line, "UNKNOWN(kind={})", head.kind);
        return line;
    };
    let _ = write!(line, "{kind:?} ");
    let _ = match kind {
        CommandKind::PlaceOrder => {
            let o: PlaceOrder = command.body();
            write!(
                line,
                "market={} side={} type={} tif={} stp={} flags={} price={} qty={} quote_qty={} coid={:?}",
                o.market,
                o.side,
                o.order_type,
                o.time_in_force,
                o.stp,
                o.flags,
                o.price,
                o.quantity,
                o.quote_quantity,
                text_str(&o.client_order_id)
            )
        }
        CommandKind::CancelOrder | CommandKind::QueryOrder => {
            let c: CancelOrder = command.body();
            write!(
                line,
                "market={} order={} coid={:?}",
                c.market,
                c.order_id,
                text_str(&c.client_order_id)
            )
        }
        CommandKind::AmendOrder => {
            let a: AmendOrder = command.body();
            write!(
                line,
                "market={} order={} new_price={} new_qty={}",
                a.market, a.order_id, a.new_price, a.new_quantity
            )
        }
        CommandKind::CancelAll | CommandKind::QueryOpenOrders => {
            let s: MarketScope = command.body();
            write!(line, "market={}", s.market)
        }
        CommandKind::Deposit | CommandKind::Withdraw => {
            let t: Transfer = command.body();
            write!(line, "asset={} amount={}", t.asset, t.amount)
        }
        CommandKind::CreateUser => {
            let u: CreateUser = command.body();
            write!(line, "username={:?}", text_str(&u.username))
        }
        CommandKind::QueryUser => {
            let u: UserLookup = command.body();
            write!(line, "username={:?}", text_str(&u.username))
        }
        CommandKind::CreateApiKey | CommandKind::QueryApiKey => {
            let k: ApiKey = command.body();
            write!(line, "key_id={} admin={}", hex(&k.key_id), k.admin)
        }
        CommandKind::QueryQuote => {
            let q: QuoteRequest = command.body();
            write!(
                line,
                "market={} side={} qty={} quote_qty={}",
                q.market, q.side, q.quantity, q.quote_quantity
            )
        }
        CommandKind::QueryDepth => {
            let d: DepthRequest = command.body();
            write!(line, "market={} limit={}", d.market, d.limit)
        }
        CommandKind::QueryBalances => Ok(()),
    };
    line
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::text_field;

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
        command.head.kind = 250;
        assert!(describe_command(&command).contains("UNKNOWN(kind=250)"));
    }
}
