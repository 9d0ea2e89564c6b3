//! The reject vocabulary, one table: reason -> stable code, message, HTTP status, and the
//! trading page's plain words.
//!
//! Every place that says something about a reject reads [`REJECTS`]: the engine's reject
//! events carry the reason's number, the edge answers with its code, message and status,
//! the OpenAPI document lists the codes, the web page's sentences are generated from the
//! `plain` column (`web/src/rejectTexts.ts`, checked by a test here), and the README's
//! table is checked against it. A row is one struct literal with one field per line, so
//! a new column (a Binance error code, a FIX `OrdRejReason` for the coming edges) is one
//! line per row, and the compiler finds every row that lacks it.

/// Stable reject reasons. The numbers never change; new reasons get new numbers.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The market id is not configured.
    UnknownMarket = 1,
    /// The asset id is not configured.
    UnknownAsset = 2,
    /// The user id does not exist.
    UnknownUser = 3,
    /// Not enough available balance to lock or withdraw.
    InsufficientBalance = 4,
    /// Price is not a positive whole number of ticks, or out of range.
    InvalidPrice = 5,
    /// Quantity is not a positive whole number of lots, or out of range.
    InvalidQuantity = 6,
    /// Quantity below the market's minimum.
    BelowMinimum = 7,
    /// A post-only order would take liquidity.
    PostOnlyWouldCross = 8,
    /// A fill-or-kill order cannot be filled completely.
    FokNotFillable = 9,
    /// No such open order.
    UnknownOrder = 10,
    /// The order belongs to another user: answered exactly as `UnknownOrder`, so no one can probe others' order ids.
    NotOwner = 11,
    /// An order, user, level or key pool is full.
    CapacityFull = 12,
    /// The user name is taken.
    UserExists = 13,
    /// A market order found no liquidity at all.
    NoLiquidity = 14,
    /// The client order id is already used by an open order of this user.
    DuplicateClientOrderId = 15,
    /// Amount is not positive or out of range.
    InvalidAmount = 16,
    /// The command kind or one of its enum fields is not known.
    InvalidCommand = 17,
    /// An amend that changes nothing, or raises quantity above the original (not allowed; place a new order).
    InvalidAmend = 18,
    /// The API key id is taken.
    ApiKeyExists = 19,
    /// No such API key.
    UnknownApiKey = 20,
    /// Arithmetic on the order would overflow the integer range.
    Overflow = 21,
    /// The market is halted: no new orders, no amends to a new price (cancels still work);
    /// also the answer to halting a halted market.
    MarketHalted = 22,
    /// Only an admin (or the operator) may do this.
    AdminOnly = 23,
    /// The user a command names (not the one asking) does not exist.
    UserNotFound = 24,
    /// A grant to an admin, or a revoke from a user who is not one.
    RoleUnchanged = 25,
    /// A resume of a market that is not halted.
    MarketNotHalted = 26,
}

/// What a reject reason means to each audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectInfo {
    /// The reason (its row is `REJECTS[reason as usize - 1]`).
    pub reason: RejectReason,
    /// The stable error code clients see, e.g. `INSUFFICIENT_BALANCE`.
    pub code: &'static str,
    /// The HTTP status the REST edge answers with.
    pub http_status: u16,
    /// A phrase saying what was wrong, for the error's `message`.
    pub message: &'static str,
    /// The trading page's sentence for a person.
    pub plain: &'static str,
}

use RejectReason as R;

/// Every reason, by number (row `n - 1` is reason `n`).
pub const REJECTS: [RejectInfo; 26] = [
    RejectInfo {
        reason: R::UnknownMarket,
        code: "UNKNOWN_MARKET",
        http_status: 422,
        message: "no such market",
        plain: "That market doesn't exist.",
    },
    RejectInfo {
        reason: R::UnknownAsset,
        code: "UNKNOWN_ASSET",
        http_status: 422,
        message: "no such asset",
        plain: "That asset doesn't exist on this exchange.",
    },
    RejectInfo {
        reason: R::UnknownUser,
        code: "UNKNOWN_USER",
        http_status: 401,
        message: "no such user",
        plain: "That account doesn't exist.",
    },
    RejectInfo {
        reason: R::InsufficientBalance,
        code: "INSUFFICIENT_BALANCE",
        http_status: 422,
        message: "not enough available balance",
        plain: "You don't have enough available balance for this order. Deposit more or lower the size.",
    },
    RejectInfo {
        reason: R::InvalidPrice,
        code: "INVALID_PRICE",
        http_status: 422,
        message: "price must be a positive multiple of the market's tick size",
        plain: "The price isn't valid for this market: it must be positive and a whole multiple of the tick size.",
    },
    RejectInfo {
        reason: R::InvalidQuantity,
        code: "INVALID_QUANTITY",
        http_status: 422,
        message: "quantity must be a positive multiple of the market's lot size",
        plain: "The quantity isn't valid for this market: it must be positive and a whole multiple of the lot size.",
    },
    RejectInfo {
        reason: R::BelowMinimum,
        code: "BELOW_MINIMUM",
        http_status: 422,
        message: "quantity is below the market's minimum",
        plain: "The quantity is below this market's minimum order size.",
    },
    RejectInfo {
        reason: R::PostOnlyWouldCross,
        code: "POST_ONLY_WOULD_CROSS",
        http_status: 422,
        message: "post-only order would take liquidity",
        plain: "This post-only order would trade immediately, so it was not placed. Move the price away from the other side of the book.",
    },
    RejectInfo {
        reason: R::FokNotFillable,
        code: "FOK_NOT_FILLABLE",
        http_status: 422,
        message: "fill-or-kill order cannot be filled completely",
        plain: "The fill-or-kill order couldn't be filled completely at once, so nothing was traded.",
    },
    RejectInfo {
        reason: R::UnknownOrder,
        code: "UNKNOWN_ORDER",
        http_status: 404,
        message: "no such open order",
        plain: "That order is no longer open (it may have been filled or canceled already).",
    },
    RejectInfo {
        reason: R::NotOwner,
        code: "UNKNOWN_ORDER",
        http_status: 404,
        message: "no such open order",
        plain: "That order is no longer open (it may have been filled or canceled already).",
    },
    RejectInfo {
        reason: R::CapacityFull,
        code: "CAPACITY_FULL",
        http_status: 503,
        message: "the exchange is at capacity for this kind of object",
        plain: "The exchange is at capacity right now. Try again shortly.",
    },
    RejectInfo {
        reason: R::UserExists,
        code: "USER_EXISTS",
        http_status: 409,
        message: "user name is taken",
        plain: "That username is already taken. Choose another one, or sign in.",
    },
    RejectInfo {
        reason: R::NoLiquidity,
        code: "NO_LIQUIDITY",
        http_status: 422,
        message: "no liquidity on the other side of the book",
        plain: "There are no orders on the other side of the book to trade with right now.",
    },
    RejectInfo {
        reason: R::DuplicateClientOrderId,
        code: "DUPLICATE_CLIENT_ORDER_ID",
        http_status: 409,
        message: "client order id is already used by an open order",
        plain: "You already have an open order with this client order id.",
    },
    RejectInfo {
        reason: R::InvalidAmount,
        code: "INVALID_AMOUNT",
        http_status: 422,
        message: "amount must be positive",
        plain: "The amount must be a positive number.",
    },
    RejectInfo {
        reason: R::InvalidCommand,
        code: "INVALID_COMMAND",
        http_status: 422,
        message: "malformed command",
        plain: "The exchange could not understand this request.",
    },
    RejectInfo {
        reason: R::InvalidAmend,
        code: "INVALID_AMEND",
        http_status: 422,
        message: "amend must change price or lower quantity",
        plain: "An amend must change the price or lower the quantity.",
    },
    RejectInfo {
        reason: R::ApiKeyExists,
        code: "API_KEY_EXISTS",
        http_status: 409,
        message: "API key id is taken",
        plain: "That API key id is already registered. Create the key again.",
    },
    RejectInfo {
        reason: R::UnknownApiKey,
        code: "UNKNOWN_API_KEY",
        http_status: 404,
        message: "no such API key",
        plain: "That API key doesn't exist.",
    },
    RejectInfo {
        reason: R::Overflow,
        code: "OVERFLOW",
        http_status: 422,
        message: "numbers too large for this market",
        plain: "The numbers are too large for this market.",
    },
    RejectInfo {
        reason: R::MarketHalted,
        code: "MARKET_HALTED",
        http_status: 422,
        message: "the market is halted: new orders and price amends are refused, cancels work",
        plain: "Trading in this market is halted for now. You can still cancel your orders.",
    },
    RejectInfo {
        reason: R::AdminOnly,
        code: "ADMIN_ONLY",
        http_status: 403,
        message: "only an admin may do this",
        plain: "Only an exchange administrator can do this.",
    },
    RejectInfo {
        reason: R::UserNotFound,
        code: "USER_NOT_FOUND",
        http_status: 404,
        message: "the user the request names does not exist",
        plain: "That user doesn't exist.",
    },
    RejectInfo {
        reason: R::RoleUnchanged,
        code: "ROLE_UNCHANGED",
        http_status: 409,
        message: "the user already has that role",
        plain: "That user already has that role.",
    },
    RejectInfo {
        reason: R::MarketNotHalted,
        code: "MARKET_NOT_HALTED",
        http_status: 409,
        message: "the market is not halted",
        plain: "That market is not halted.",
    },
];

const _: () = {
    let mut index = 0;
    while index < REJECTS.len() {
        assert!(
            REJECTS[index].reason as usize == index + 1,
            "REJECTS is ordered by number"
        );
        index += 1;
    }
};

impl RejectReason {
    /// Every reason, by number.
    pub const ALL: [RejectReason; REJECTS.len()] = {
        let mut all = [R::UnknownMarket; REJECTS.len()];
        let mut index = 0;
        while index < all.len() {
            all[index] = REJECTS[index].reason;
            index += 1;
        }
        all
    };

    /// Decodes a reject body's reason.
    pub fn from_u16(value: u16) -> Option<Self> {
        let row = REJECTS.get(usize::from(value).checked_sub(1)?)?;
        Some(row.reason)
    }

    /// The reason's row.
    pub fn info(self) -> &'static RejectInfo {
        &REJECTS[self as usize - 1]
    }

    /// The stable error code clients see, e.g. `INSUFFICIENT_BALANCE`.
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// A phrase saying what was wrong, for the error's `message`.
    pub fn message(self) -> &'static str {
        self.info().message
    }

    /// The HTTP status the REST edge answers with.
    pub fn http_status(self) -> u16 {
        self.info().http_status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn repository_file(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path)
    }

    /// The table's rows, one per code (`NotOwner` shares `UnknownOrder`'s).
    fn by_code() -> Vec<&'static RejectInfo> {
        let mut rows: Vec<&RejectInfo> = Vec::new();
        for row in &REJECTS {
            match rows.iter().find(|seen| seen.code == row.code) {
                Some(seen) => assert_eq!(
                    (seen.http_status, seen.message, seen.plain),
                    (row.http_status, row.message, row.plain),
                    "{:?} and {:?} share a code, so they must read the same",
                    seen.reason,
                    row.reason
                ),
                None => rows.push(row),
            }
        }
        rows
    }

    /// `web/src/rejectTexts.ts` as the table makes it.
    fn web_module() -> String {
        let mut text = String::from(
            "// Generated from engine/src/reject_reason.rs (the `plain` column of REJECTS); do not edit.\n\
             // Regenerate: PINWHEEL_BLESS=1 cargo test -p pinwheel-engine reject_reason\n\n\
             /** The engine's reject codes in plain words. */\n\
             export const REJECT_TEXTS: Record<string, string> = {\n",
        );
        for row in by_code() {
            assert!(!row.plain.contains(['"', '\\', '\n']), "{:?}", row.reason);
            text.push_str(&format!("  {}: \"{}\",\n", row.code, row.plain));
        }
        text.push_str("};\n");
        text
    }

    #[test]
    fn reasons_decode_and_read_their_row() {
        for reason in RejectReason::ALL {
            assert_eq!(RejectReason::from_u16(reason as u16), Some(reason));
            assert_eq!(reason.info().reason, reason);
        }
        assert_eq!(RejectReason::from_u16(0), None);
        assert_eq!(RejectReason::from_u16(REJECTS.len() as u16 + 1), None);
        assert_eq!(R::NotOwner.code(), R::UnknownOrder.code());
        for row in &REJECTS {
            assert!(row
                .code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert!((400..600).contains(&row.http_status), "{:?}", row.reason);
            assert!(!row.message.is_empty() && row.plain.ends_with('.'));
        }
    }

    #[test]
    fn the_web_pages_reject_texts_are_the_tables() {
        let path = repository_file("web/src/rejectTexts.ts");
        let expected = web_module();
        if std::env::var_os("PINWHEEL_BLESS").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{} differs from the REJECTS table; regenerate it with \
             PINWHEEL_BLESS=1 cargo test -p pinwheel-engine reject_reason, then rebuild web/",
            path.display()
        );
    }

    #[test]
    fn the_readmes_reject_table_is_the_tables() {
        let readme = std::fs::read_to_string(repository_file("README.md")).unwrap();
        let start = readme
            .find("| code | HTTP | when |")
            .expect("README has the reject table");
        let listed: Vec<(String, u16)> = readme[start..]
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                (
                    cells[1].trim_matches('`').to_string(),
                    cells[2].parse().unwrap(),
                )
            })
            .collect();
        let table: Vec<(String, u16)> = by_code()
            .iter()
            .map(|row| (row.code.to_string(), row.http_status))
            .collect();
        assert_eq!(
            listed, table,
            "README.md's reject table differs from REJECTS"
        );
    }
}
