//! The command vocabulary, one table: kind -> byte -> body type -> handler -> name.
//!
//! Everything that belongs to a command kind is one row of [`command_table!`] below: the
//! kind's stable byte, the body type its 88 bytes are read as, and the engine method that
//! applies it (with the arguments it takes). [`CommandKind`], its name, [`CommandBody`]
//! (the body decoded by kind), the engine's dispatch, `journal inspect`'s description and a
//! reject's echo of the order it concerns are all generated from the rows, so a new kind
//! is one row plus its handler, and a kind cannot be decoded as one type and applied as
//! another.
//!
//! One body type may serve several kinds when they carry the same fields for the same
//! purpose: `Transfer` (deposit, withdraw), `MarketScope` (cancel all, open orders, halt,
//! resume: the market a command is about), `UserRef` (grant, revoke),
//! `ApiKey` (register, look up), and `OrderAddress` (cancel one order, query one order:
//! both address one open order of the user by market and order id or client order id, and
//! both run `find_own_order` on it, so the two can never disagree on which order is meant).

use std::fmt::Write;

use crate::engine::{Engine, Outcome};
use crate::message::{
    text_str, AmendOrder, ApiKey, Command, CreateUser, DepthRequest, MarketScope, NoBody,
    OrderAddress, PlaceOrder, QuoteRequest, Reject, Transfer, UserLookup, UserRef,
};
use crate::sink::Out;

/// What a body shows of itself: a description, and the order a reject of it concerns.
pub trait Body {
    /// Appends `field=value` pairs for `journal inspect` and logs.
    fn describe(&self, line: &mut String);

    /// Copies the market, order id and client order id a reject echoes (none by default).
    fn echo(&self, _reject: &mut Reject) {}
}

/// Picks a handler's argument: the table names them `user` and `body`.
macro_rules! handler_arg {
    (user, $user:expr, $body:expr) => {
        $user
    };
    (body, $user:expr, $body:expr) => {
        $body
    };
}

macro_rules! command_table {
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident = $byte:literal, $body:ident, $handler:ident($($arg:ident),*);
    )*) => {
        /// What a command asks the engine to do (the byte is stable; see the table).
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum CommandKind {
            $($(#[doc = $doc])* $kind = $byte,)*
        }

        impl CommandKind {
            /// Every command kind, in table order.
            pub const ALL: [CommandKind; [$($byte),*].len()] = [$(Self::$kind),*];

            /// The kind's name, as in logs, metrics and `journal inspect`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$kind => stringify!($kind),)*
                }
            }

            /// The name of the body type the kind's 88 bytes are read as.
            pub fn body_name(self) -> &'static str {
                match self {
                    $(Self::$kind => stringify!($body),)*
                }
            }
        }

        /// A command's body, read as the type its kind's row names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum CommandBody {
            $(#[doc = concat!("Body of [`CommandKind::", stringify!($kind), "`].")] $kind($body),)*
        }

        impl CommandBody {
            /// Reads the body by the head's kind; `None` for an unknown kind.
            pub fn decode(command: &Command) -> Option<Self> {
                Some(match CommandKind::from_u8(command.head.kind)? {
                    $(CommandKind::$kind => Self::$kind(command.body()),)*
                })
            }

            /// The body as its [`Body`] view.
            pub fn body(&self) -> &dyn Body {
                match self {
                    $(Self::$kind(body) => body,)*
                }
            }

            /// Applies the command through its row's handler.
            #[allow(unused_variables, reason = "rows whose handler takes no body")]
            pub(crate) fn apply(&self, engine: &mut Engine, user: u64, out: &mut Out) -> Outcome {
                match self {
                    $(Self::$kind(body) => engine.$handler($(handler_arg!($arg, user, body),)* out),)*
                }
            }
        }
    };
}

command_table! {
    /// Create a user. Answer: [`crate::message::EventKind::UserCreated`] or a reject.
    CreateUser = 1, CreateUser, create_user(body);
    /// Credit an asset.
    Deposit = 2, Transfer, deposit(user, body);
    /// Debit an asset.
    Withdraw = 3, Transfer, withdraw(user, body);
    /// Place an order.
    PlaceOrder = 4, PlaceOrder, place(user, body);
    /// Cancel one order by id or by client order id.
    CancelOrder = 5, OrderAddress, cancel(user, body);
    /// Cancel every open order of the user, in one market or all.
    CancelAll = 6, MarketScope, cancel_all(user, body);
    /// Change price and/or lower the quantity of an open order.
    AmendOrder = 7, AmendOrder, amend(user, body);
    /// Register an API key.
    CreateApiKey = 8, ApiKey, create_api_key(user, body);
    /// Make a user an admin (asker: an admin or the operator).
    GrantAdmin = 9, UserRef, grant_admin(user, body);
    /// Take a user's admin role away (asker: an admin or the operator).
    RevokeAdmin = 10, UserRef, revoke_admin(user, body);
    /// Halt a market: new orders and price amends are refused, cancels work.
    HaltMarket = 11, MarketScope, halt_market(user, body);
    /// Resume a halted market.
    ResumeMarket = 12, MarketScope, resume_market(user, body);
    /// Read-only: one order's state (addressed as a cancel addresses it).
    QueryOrder = 32, OrderAddress, query_order(user, body);
    /// Read-only: price a market order against the book.
    QueryQuote = 33, QuoteRequest, query_quote(body);
    /// Read-only: the user's balances, one [`crate::message::EventKind::Balance`] per asset.
    QueryBalances = 34, NoBody, query_balances(user);
    /// Read-only: the user's open orders.
    QueryOpenOrders = 35, MarketScope, query_open_orders(user, body);
    /// Read-only: aggregated book levels.
    QueryDepth = 36, DepthRequest, query_depth(body);
    /// Read-only: a user's credentials by name.
    QueryUser = 37, UserLookup, query_user(body);
    /// Read-only: an API key's owner and secret hash (key id only in the command).
    QueryApiKey = 38, ApiKey, query_api_key(body);
}

impl CommandKind {
    /// Kind by byte, built from [`Self::ALL`]: decoding runs at least twice per command, so
    /// it is one load rather than a search.
    const BY_BYTE: [Option<Self>; 256] = {
        let mut table = [None; 256];
        let mut index = 0;
        while index < Self::ALL.len() {
            assert!(
                table[Self::ALL[index] as usize].is_none(),
                "two kinds share a byte"
            );
            table[Self::ALL[index] as usize] = Some(Self::ALL[index]);
            index += 1;
        }
        table
    };

    /// Decodes a head's kind byte.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::BY_BYTE[value as usize]
    }

    /// Read-only commands change no state; they are not journaled.
    pub fn is_query(self) -> bool {
        self as u8 >= 32
    }
}

impl Body for PlaceOrder {
    fn describe(&self, line: &mut String) {
        let _ = write!(
            line,
            "market={} side={} type={} tif={} stp={} flags={} price={} qty={} quote_qty={} coid={:?}",
            self.market,
            self.side,
            self.order_type,
            self.time_in_force,
            self.stp,
            self.flags,
            self.price,
            self.quantity,
            self.quote_quantity,
            text_str(&self.client_order_id)
        );
    }

    fn echo(&self, reject: &mut Reject) {
        reject.market = self.market;
        reject.client_order_id = self.client_order_id;
    }
}

impl Body for OrderAddress {
    fn describe(&self, line: &mut String) {
        let coid = text_str(&self.client_order_id);
        let _ = write!(
            line,
            "market={} order={} coid={coid:?}",
            self.market, self.order_id
        );
    }

    fn echo(&self, reject: &mut Reject) {
        reject.market = self.market;
        reject.order_id = self.order_id;
        reject.client_order_id = self.client_order_id;
    }
}

impl Body for AmendOrder {
    fn describe(&self, line: &mut String) {
        let _ = write!(
            line,
            "market={} order={} new_price={} new_qty={}",
            self.market, self.order_id, self.new_price, self.new_quantity
        );
    }

    fn echo(&self, reject: &mut Reject) {
        reject.market = self.market;
        reject.order_id = self.order_id;
    }
}

impl Body for MarketScope {
    fn describe(&self, line: &mut String) {
        let _ = write!(line, "market={}", self.market);
    }
}

impl Body for Transfer {
    fn describe(&self, line: &mut String) {
        let _ = write!(line, "asset={} amount={}", self.asset, self.amount);
        if self.account != 0 {
            let _ = write!(line, " account={}", self.account);
        }
        if self.flags != 0 {
            let _ = write!(line, " flags={}", self.flags);
        }
    }
}

impl Body for UserRef {
    fn describe(&self, line: &mut String) {
        let _ = write!(
            line,
            "user={} username={:?}",
            self.user_id,
            text_str(&self.username)
        );
    }
}

impl Body for CreateUser {
    fn describe(&self, line: &mut String) {
        let _ = write!(line, "username={:?}", text_str(&self.username));
    }
}

impl Body for UserLookup {
    fn describe(&self, line: &mut String) {
        let _ = write!(line, "username={:?}", text_str(&self.username));
    }
}

impl Body for ApiKey {
    fn describe(&self, line: &mut String) {
        let _ = write!(line, "key_id=");
        for byte in self.key_id {
            let _ = write!(line, "{byte:02x}");
        }
        let _ = write!(line, " admin={}", self.admin);
    }
}

impl Body for QuoteRequest {
    fn describe(&self, line: &mut String) {
        let _ = write!(
            line,
            "market={} side={} qty={} quote_qty={}",
            self.market, self.side, self.quantity, self.quote_quantity
        );
    }
}

impl Body for DepthRequest {
    fn describe(&self, line: &mut String) {
        let _ = write!(line, "market={} limit={}", self.market, self.limit);
    }
}

impl Body for NoBody {
    fn describe(&self, _line: &mut String) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{text_field, BODY_SIZE};

    #[test]
    fn every_kind_decodes_to_its_rows_body() {
        for kind in CommandKind::ALL {
            assert_eq!(CommandKind::from_u8(kind as u8), Some(kind));
            let body = CommandBody::decode(&Command::new(kind as u8, &[0u8; BODY_SIZE])).unwrap();
            let debug = format!("{body:?}");
            let expected = format!("{}({} {{", kind.name(), kind.body_name());
            assert!(debug.starts_with(&expected), "{debug} vs {expected}");
        }
        assert_eq!(
            CommandBody::decode(&Command::new(0, &NoBody::default())),
            None
        );
        assert_eq!(
            CommandBody::decode(&Command::new(250, &NoBody::default())),
            None
        );
        assert!(CommandKind::QueryDepth.is_query());
        assert!(!CommandKind::PlaceOrder.is_query());
        assert!(CommandKind::ALL
            .iter()
            .all(|k| k.is_query() == k.name().starts_with("Query")));
    }

    #[test]
    fn cancel_and_query_address_an_order_alike() {
        let address = OrderAddress {
            market: 2,
            order_id: 9,
            client_order_id: text_field("c-9").unwrap(),
            ..Default::default()
        };
        for kind in [CommandKind::CancelOrder, CommandKind::QueryOrder] {
            let body = CommandBody::decode(&Command::new(kind as u8, &address)).unwrap();
            let mut reject = Reject::default();
            body.body().echo(&mut reject);
            assert_eq!((reject.market, reject.order_id), (2, 9));
            assert_eq!(text_str(&reject.client_order_id), "c-9");
        }
    }
}
