//! Commands (edge -> engine) and events (engine -> edges, feed): the wire contract.
//!
//! Every message is one fixed-size, `#[repr(C)]`, plain-old-data record of
//! [`RECORD_SIZE`] bytes, so it travels through a ring slot and a journal frame as a
//! single `memcpy`. A message is a 40-byte head (who asked, which request, the engine's
//! sequence and timestamp) and an 88-byte body whose layout depends on `kind`; typed
//! bodies are read and written through [`bytemuck`], never by pointer casts.
//!
//! Units past the edge are integers: prices in ticks of the market, quantities in lots
//! of the market, balances and quote amounts in the asset's smallest unit.

use bytemuck::{Pod, Zeroable};

/// Size of one command or event record, in bytes (two cache lines).
pub const RECORD_SIZE: usize = 128;
/// Size of the typed body that follows the head.
pub const BODY_SIZE: usize = 88;
/// Length of a client order id, user name or other short text field, in bytes.
pub const TEXT_LEN: usize = 32;
/// Market id meaning "every market" (cancel-all, open-orders query).
pub const ALL_MARKETS: u32 = u32::MAX;

/// The head every command and event starts with.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Head {
    /// A [`CommandKind`] or [`EventKind`] as `u8`.
    pub kind: u8,
    /// Kind-specific flags (see the `FLAG_*` constants).
    pub flags: u8,
    /// The edge (input ring) the command came from; events carry it back.
    pub edge_id: u16,
    /// Reserved, zero.
    pub reserved: u32,
    /// The edge's request id; events carry it back so the answer finds its request.
    pub request_id: u64,
    /// The user the command acts for (0 for anonymous commands such as sign-up).
    pub user_id: u64,
    /// The engine's global sequence number of the command (stamped by the engine).
    pub sequence: u64,
    /// The engine's timestamp of the command in nanoseconds since the Unix epoch (stamped by the engine).
    pub timestamp_ns: u64,
}

/// A command record: head plus a kind-specific body.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Command {
    /// Routing, sequence and time.
    pub head: Head,
    /// The kind-specific body, read through [`Command::body`].
    pub body: [u8; BODY_SIZE],
}

/// An event record: head plus a kind-specific body.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Event {
    /// Routing (edge and request of the command that caused it), sequence and time.
    pub head: Head,
    /// The kind-specific body, read through [`Event::body`].
    pub body: [u8; BODY_SIZE],
}

const _: () = assert!(core::mem::size_of::<Head>() == 40);
const _: () = assert!(core::mem::size_of::<Command>() == RECORD_SIZE);
const _: () = assert!(core::mem::size_of::<Event>() == RECORD_SIZE);

macro_rules! typed_body {
    ($record:ident) => {
        impl $record {
            /// A zeroed record of the given kind with the given body.
            pub fn new<B: Pod>(kind: u8, body: &B) -> Self {
                let mut record = Self::zeroed();
                record.head.kind = kind;
                record.set_body(body);
                record
            }

            /// The body viewed as `B` (a copy; bodies are small).
            pub fn body<B: Pod>(&self) -> B {
                const { assert!(core::mem::size_of::<B>() <= BODY_SIZE) };
                bytemuck::pod_read_unaligned(&self.body[..core::mem::size_of::<B>()])
            }

            /// Overwrites the start of the body with `body`.
            pub fn set_body<B: Pod>(&mut self, body: &B) {
                const { assert!(core::mem::size_of::<B>() <= BODY_SIZE) };
                self.body[..core::mem::size_of::<B>()].copy_from_slice(bytemuck::bytes_of(body));
            }

            /// The record as the bytes that travel through rings and the journal.
            pub fn as_bytes(&self) -> &[u8; RECORD_SIZE] {
                bytemuck::cast_ref(self)
            }

            /// Reads a record from ring or journal bytes (copies; any alignment).
            pub fn from_bytes(bytes: &[u8]) -> Self {
                bytemuck::pod_read_unaligned(&bytes[..RECORD_SIZE])
            }
        }
    };
}
typed_body!(Command);
typed_body!(Event);

impl Command {
    /// A command of `kind` on behalf of `user`; the sequencer stamps sequence and time.
    pub fn from_user<B: Pod>(kind: CommandKind, user: u64, body: &B) -> Self {
        let mut command = Self::new(kind as u8, body);
        command.head.user_id = user;
        command
    }
}

pub use crate::command_kind::{Body, CommandBody, CommandKind};
pub use crate::reject_reason::{RejectInfo, RejectReason, REJECTS};

/// What an event reports.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The command was rejected and changed nothing; body [`Reject`].
    Rejected = 1,
    /// An order's state after the command (placed, filled, cancelled, amended, queried); body [`OrderUpdate`].
    OrderUpdate = 2,
    /// One side of a trade, addressed to that side's user; body [`Fill`].
    Fill = 3,
    /// A public trade; body [`Trade`].
    Trade = 4,
    /// An aggregated book level changed (quantity 0 = level removed); body [`BookDelta`].
    BookDelta = 5,
    /// A user's balance of one asset after a change or in a query answer; body [`Balance`].
    Balance = 6,
    /// A new user; body [`UserCreated`].
    UserCreated = 7,
    /// A user's credentials (answer to `QueryUser`); body [`CreateUser`].
    UserInfo = 8,
    /// An API key (answer to `QueryApiKey` or `CreateApiKey`); body [`ApiKey`].
    ApiKeyInfo = 9,
    /// Answer to `QueryQuote`; body [`QuoteResult`].
    Quote = 10,
    /// One aggregated level in a `QueryDepth` answer; body [`BookDelta`].
    DepthLevel = 11,
    /// The last event of every command: the edge completes the request on it; body [`Done`].
    Done = 12,
    /// A user's admin role after a grant or revoke; body [`UserRole`].
    UserRole = 13,
    /// A market was halted or resumed; body [`MarketState`].
    MarketState = 14,
    /// The first event of a `QueryDepth` answer: the book's update id, also when the book is
    /// empty; body [`BookDelta`] with only `market` and `update_id` set.
    DepthSequence = 15,
}

impl EventKind {
    /// Every event kind, for tables and tests.
    pub const ALL: [EventKind; 15] = [
        Self::Rejected,
        Self::OrderUpdate,
        Self::Fill,
        Self::Trade,
        Self::BookDelta,
        Self::Balance,
        Self::UserCreated,
        Self::UserInfo,
        Self::ApiKeyInfo,
        Self::Quote,
        Self::DepthLevel,
        Self::Done,
        Self::UserRole,
        Self::MarketState,
        Self::DepthSequence,
    ];

    /// Decodes a head's kind byte.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| *kind as u8 == value)
    }
}

/// A one-byte enum of the wire: variant, stable byte, and the name the REST API uses.
macro_rules! wire_enum {
    ($(#[doc = $doc:literal])* $name:ident {
        $($(#[doc = $vdoc:literal])* $variant:ident = $byte:literal, $api:literal;)*
    }) => {
        $(#[doc = $doc])*
        #[repr(u8)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant = $byte,)*
        }

        impl $name {
            /// Every value with its API name, in table order.
            pub const NAMES: [(&'static str, Self); [$($byte),*].len()] =
                [$(($api, Self::$variant)),*];

            /// Decodes a body's byte (`None` for a byte no variant has).
            pub fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $($byte => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The name the REST API uses.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $api,)*
                }
            }
        }
    };
}

wire_enum! {
    /// Order side.
    Side {
        /// Bid.
        Buy = 1, "buy";
        /// Ask.
        Sell = 2, "sell";
    }
}

wire_enum! {
    /// Order type.
    OrderType {
        /// Limit order at `price`.
        Limit = 1, "limit";
        /// Market order by base `quantity`, or (buy only) by `quote_quantity`.
        Market = 2, "market";
    }
}

wire_enum! {
    /// Time in force.
    TimeInForce {
        /// Good till cancelled: the rest rests on the book.
        Gtc = 1, "GTC";
        /// Immediate or cancel: the rest expires.
        Ioc = 2, "IOC";
        /// Fill or kill: all at once, or nothing.
        Fok = 3, "FOK";
    }
}

wire_enum! {
    /// Self-trade prevention mode (what happens when a taker would match its own user's
    /// maker). The byte 0 in a command means the default, [`SelfTradePrevention::ExpireTaker`].
    SelfTradePrevention {
        /// The taker's remainder expires (default).
        ExpireTaker = 1, "expire_taker";
        /// The resting maker expires and matching continues.
        ExpireMaker = 2, "expire_maker";
        /// Both expire.
        ExpireBoth = 3, "expire_both";
    }
}

wire_enum! {
    /// Order status as users see it.
    OrderStatus {
        /// Accepted, nothing filled yet.
        New = 1, "NEW";
        /// Some filled, the rest open.
        PartiallyFilled = 2, "PARTIALLY_FILLED";
        /// All filled.
        Filled = 3, "FILLED";
        /// Cancelled by the user.
        Canceled = 4, "CANCELED";
        /// Ended by the engine (IOC/FOK remainder, market order remainder, self-trade prevention).
        Expired = 5, "EXPIRED";
        /// Never accepted.
        Rejected = 6, "REJECTED";
    }
}

/// [`PlaceOrder::flags`] bit: post-only.
pub const FLAG_POST_ONLY: u8 = 1;
/// [`OrderUpdate::flags`] bit: this update answers a query and changes nothing.
pub const FLAG_QUERY_ANSWER: u8 = 1;

/// Body of [`CommandKind::PlaceOrder`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct PlaceOrder {
    /// Market id (index in the configured market table).
    pub market: u32,
    /// [`Side`] as u8.
    pub side: u8,
    /// [`OrderType`] as u8.
    pub order_type: u8,
    /// [`TimeInForce`] as u8.
    pub time_in_force: u8,
    /// [`SelfTradePrevention`] as u8 (0 = default, expire taker).
    pub stp: u8,
    /// `FLAG_POST_ONLY`.
    pub flags: u8,
    /// Reserved, zero.
    pub reserved: [u8; 7],
    /// Limit price in ticks (0 for market orders).
    pub price: i64,
    /// Quantity in lots (0 for a market buy by quote amount).
    pub quantity: i64,
    /// Market buy by quote amount, in the quote asset's units (0 otherwise).
    pub quote_quantity: i64,
    /// The client's order id, ASCII, zero-padded (all zero = none).
    pub client_order_id: [u8; TEXT_LEN],
}

impl PlaceOrder {
    /// A limit order of `quantity` lots at `price` ticks, no client order id, default STP.
    pub fn limit(
        market: u32,
        side: Side,
        time_in_force: TimeInForce,
        price: i64,
        quantity: i64,
    ) -> Self {
        Self {
            market,
            side: side as u8,
            order_type: OrderType::Limit as u8,
            time_in_force: time_in_force as u8,
            price,
            quantity,
            ..Self::default()
        }
    }
}

/// Body of [`CommandKind::CancelOrder`] and [`CommandKind::QueryOrder`]: one open order
/// of the user (why one body serves both: see [`crate::command_kind`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct OrderAddress {
    /// Market id, or [`ALL_MARKETS`] when unknown.
    pub market: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Engine order id (0 = address by client order id instead).
    pub order_id: u64,
    /// Client order id, used when `order_id` is 0.
    pub client_order_id: [u8; TEXT_LEN],
}

impl OrderAddress {
    /// The order with engine id `order_id` in `market` (or [`ALL_MARKETS`]).
    pub fn by_id(market: u32, order_id: u64) -> Self {
        Self {
            market,
            order_id,
            ..Self::default()
        }
    }

    /// The open order with client order id `client_order_id` in `market`; `None` if the id
    /// does not fit.
    pub fn by_client_id(market: u32, client_order_id: &str) -> Option<Self> {
        Some(Self {
            market,
            client_order_id: text_field(client_order_id)?,
            ..Self::default()
        })
    }
}

/// Body of [`CommandKind::AmendOrder`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct AmendOrder {
    /// Market id, or [`ALL_MARKETS`] when unknown.
    pub market: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Engine order id.
    pub order_id: u64,
    /// New limit price in ticks (0 = unchanged). A new price loses queue priority.
    pub new_price: i64,
    /// New total quantity in lots (0 = unchanged). Lower keeps priority.
    pub new_quantity: i64,
}

/// Body of [`CommandKind::CancelAll`] and [`CommandKind::QueryOpenOrders`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct MarketScope {
    /// Market id or [`ALL_MARKETS`].
    pub market: u32,
    /// Reserved, zero.
    pub reserved: u32,
}

impl MarketScope {
    /// The scope of one market id, or every market with [`ALL_MARKETS`].
    pub fn of(market: u32) -> Self {
        Self {
            market,
            reserved: 0,
        }
    }

    /// Whether `market` is in scope.
    pub fn holds(&self, market: u32) -> bool {
        self.market == ALL_MARKETS || self.market == market
    }
}

/// Body of [`CommandKind::Deposit`] and [`CommandKind::Withdraw`].
///
/// The head's user is who asks; `account` is whose balance moves (0: the asker's own). Moving
/// another user's balance, or any transfer with [`FLAG_ADMIN_ONLY`], needs an admin asker
/// (or the operator, user 0 in the head: see [`crate::admin`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Transfer {
    /// Asset id (index in the configured asset table).
    pub asset: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Amount in the asset's smallest units, positive.
    pub amount: i64,
    /// The user whose balance moves; 0 = the head's user.
    pub account: u64,
    /// [`FLAG_ADMIN_ONLY`].
    pub flags: u8,
    /// Reserved, zero.
    pub reserved2: [u8; 7],
}

impl Transfer {
    /// `amount` of `asset`, in its smallest units.
    pub fn of(asset: u32, amount: i64) -> Self {
        Self {
            asset,
            amount,
            ..Self::default()
        }
    }
}

/// [`Transfer::flags`] bit: only an admin may make this transfer (the edge sets it for
/// deposits when `public_deposits` is off).
pub const FLAG_ADMIN_ONLY: u8 = 1;

/// Body of [`CommandKind::GrantAdmin`] and [`CommandKind::RevokeAdmin`]: the user whose
/// role changes, by id or (id 0) by name.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct UserRef {
    /// User id; 0 = find the user by `username`.
    pub user_id: u64,
    /// User name, UTF-8, zero-padded (used when `user_id` is 0).
    pub username: [u8; 32],
}

impl UserRef {
    /// The user with id `user_id`.
    pub fn by_id(user_id: u64) -> Self {
        Self {
            user_id,
            ..Self::default()
        }
    }

    /// The user named `name`; `None` unless the name is 1 to 32 bytes.
    pub fn by_name(name: &str) -> Option<Self> {
        let username = text_field(name).filter(|_| !name.is_empty())?;
        Some(Self {
            user_id: 0,
            username,
        })
    }
}

/// Body of [`CommandKind::QueryBalances`]: nothing to say beyond the head's user.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct NoBody {
    /// Reserved, zero.
    pub reserved: u64,
}

/// Body of [`CommandKind::QueryQuote`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct QuoteRequest {
    /// Market id.
    pub market: u32,
    /// [`Side`] of the would-be market order.
    pub side: u8,
    /// Reserved, zero.
    pub reserved: [u8; 3],
    /// Base quantity in lots (0 when pricing by quote amount).
    pub quantity: i64,
    /// Quote amount in quote units (buy side only; 0 when pricing by quantity).
    pub quote_quantity: i64,
}

/// Body of [`CommandKind::QueryDepth`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct DepthRequest {
    /// Market id.
    pub market: u32,
    /// Levels per side, at most the engine's configured maximum.
    pub limit: u32,
}

/// Body of [`CommandKind::CreateUser`] and [`EventKind::UserInfo`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct CreateUser {
    /// User name, UTF-8, zero-padded.
    pub username: [u8; 32],
    /// Password salt chosen by the edge.
    pub salt: [u8; 16],
    /// argon2id hash of the password with that salt (computed by the edge, never by the engine).
    pub password_hash: [u8; 32],
    /// The user id (events only; 0 in the command).
    pub user_id: u64,
}

impl CreateUser {
    /// A new user named `name`, without a password; `None` if the name does not fit.
    pub fn named(name: &str) -> Option<Self> {
        Some(Self {
            username: text_field(name)?,
            ..Self::default()
        })
    }
}

/// Body of [`CommandKind::QueryUser`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct UserLookup {
    /// User name, UTF-8, zero-padded.
    pub username: [u8; 32],
}

/// Body of [`CommandKind::CreateApiKey`], [`CommandKind::QueryApiKey`] and [`EventKind::ApiKeyInfo`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ApiKey {
    /// Public key id (random, chosen by the edge).
    pub key_id: [u8; 16],
    /// SHA-256 of the secret (never the secret itself).
    pub secret_hash: [u8; 32],
    /// Owner (events only).
    pub user_id: u64,
    /// Kept from the key's registration; what a key may do is its owner's role
    /// ([`crate::accounts::User::admin`]), which the engine checks on every command.
    pub admin: u8,
    /// Reserved, zero.
    pub reserved: [u8; 7],
}

/// Body of [`EventKind::Rejected`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Reject {
    /// [`RejectReason`] as u16.
    pub reason: u16,
    /// The rejected command's kind.
    pub command_kind: u8,
    /// Reserved, zero.
    pub reserved: u8,
    /// Market id of the command, if any.
    pub market: u32,
    /// Order id concerned, if any.
    pub order_id: u64,
    /// Client order id of the command, if any.
    pub client_order_id: [u8; TEXT_LEN],
}

/// Body of [`EventKind::OrderUpdate`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct OrderUpdate {
    /// Market id.
    pub market: u32,
    /// [`Side`].
    pub side: u8,
    /// [`OrderType`].
    pub order_type: u8,
    /// [`TimeInForce`].
    pub time_in_force: u8,
    /// [`OrderStatus`].
    pub status: u8,
    /// Engine order id.
    pub order_id: u64,
    /// Limit price in ticks (0 for market orders).
    pub price: i64,
    /// Original quantity in lots (after amends).
    pub quantity: i64,
    /// Filled so far, in lots.
    pub executed_quantity: i64,
    /// Quote units spent or received so far (before fees).
    pub executed_quote: i64,
    /// Client order id.
    pub client_order_id: [u8; TEXT_LEN],
}

/// Body of [`EventKind::Fill`]: one side of one trade, addressed to its user.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Fill {
    /// Market id.
    pub market: u32,
    /// This user's [`Side`].
    pub side: u8,
    /// 1 if this user was the maker.
    pub is_maker: u8,
    /// Reserved, zero.
    pub reserved: u16,
    /// Trade id (per engine, increasing).
    pub trade_id: u64,
    /// This user's order.
    pub order_id: u64,
    /// The other side's order.
    pub counter_order_id: u64,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub quantity: i64,
    /// Fee charged, in units of `fee_asset` (the asset this user received).
    pub fee: i64,
    /// Asset id of the fee.
    pub fee_asset: u32,
    /// Reserved, zero.
    pub reserved2: u32,
}

/// Body of [`EventKind::Trade`]: the public record of a trade.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Trade {
    /// Market id.
    pub market: u32,
    /// The taker's [`Side`].
    pub taker_side: u8,
    /// Reserved, zero.
    pub reserved: [u8; 3],
    /// Trade id (per engine, increasing).
    pub trade_id: u64,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub quantity: i64,
    /// Resting order.
    pub maker_order_id: u64,
    /// Incoming order.
    pub taker_order_id: u64,
    /// Maker's user.
    pub maker_user_id: u64,
    /// Taker's user.
    pub taker_user_id: u64,
}

/// Body of [`EventKind::BookDelta`] and [`EventKind::DepthLevel`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BookDelta {
    /// Market id.
    pub market: u32,
    /// [`Side`] of the level.
    pub side: u8,
    /// Reserved, zero.
    pub reserved: [u8; 3],
    /// Price in ticks.
    pub price: i64,
    /// Total quantity at the level afterwards, in lots (0 = level gone).
    pub quantity: i64,
    /// The market's book update id: +1 per delta; a depth answer carries the current one.
    pub update_id: u64,
}

/// Body of [`EventKind::Balance`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Balance {
    /// Asset id.
    pub asset: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Available, in asset units.
    pub available: i64,
    /// Locked by open orders, in asset units.
    pub locked: i64,
}

/// Body of [`EventKind::UserCreated`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct UserCreated {
    /// The new user's id.
    pub user_id: u64,
    /// User name, UTF-8, zero-padded.
    pub username: [u8; 32],
}

/// Body of [`EventKind::UserRole`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct UserRole {
    /// The user whose role changed.
    pub user_id: u64,
    /// Their name, UTF-8, zero-padded.
    pub username: [u8; 32],
    /// 1 if the user is now an admin.
    pub admin: u8,
    /// Reserved, zero.
    pub reserved: [u8; 7],
}

/// Body of [`EventKind::MarketState`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct MarketState {
    /// Market id.
    pub market: u32,
    /// 1 if the market is now halted (new orders are rejected with `MARKET_HALTED`).
    pub halted: u8,
    /// Reserved, zero.
    pub reserved: [u8; 3],
}

/// Body of [`EventKind::Quote`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct QuoteResult {
    /// Market id.
    pub market: u32,
    /// [`Side`] of the would-be order.
    pub side: u8,
    /// Reserved, zero.
    pub reserved: [u8; 3],
    /// Lots that could be filled now.
    pub fillable_quantity: i64,
    /// Quote units that filling them would cost (buy) or bring (sell), before fees.
    pub cost: i64,
    /// Worst (last) price touched, in ticks; 0 if nothing fillable.
    pub worst_price: i64,
    /// Best (first) price touched, in ticks; 0 if nothing fillable.
    pub best_price: i64,
}

/// Body of [`EventKind::Done`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Done {
    /// Number of events this command produced before this one.
    pub event_count: u32,
    /// 1 if the command was rejected.
    pub rejected: u8,
    /// Reserved, zero.
    pub reserved: [u8; 3],
}

/// Converts a text field to a `&str` (up to the first zero byte; invalid UTF-8 gives "").
pub fn text_str(field: &[u8]) -> &str {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    core::str::from_utf8(&field[..end]).unwrap_or("")
}

/// Fills a text field from a string; `None` if it does not fit.
pub fn text_field<const N: usize>(value: &str) -> Option<[u8; N]> {
    let bytes = value.as_bytes();
    if bytes.len() > N || bytes.contains(&0) {
        return None;
    }
    let mut field = [0u8; N];
    field[..bytes.len()].copy_from_slice(bytes);
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_fit_and_round_trip() {
        let order = PlaceOrder {
            market: 2,
            side: Side::Sell as u8,
            order_type: OrderType::Limit as u8,
            time_in_force: TimeInForce::Ioc as u8,
            price: 12_345,
            quantity: 7,
            client_order_id: text_field("my-order-1").unwrap(),
            ..Default::default()
        };
        let command = Command::new(CommandKind::PlaceOrder as u8, &order);
        let copy = Command::from_bytes(command.as_bytes());
        assert_eq!(copy.body::<PlaceOrder>(), order);
        assert_eq!(
            text_str(&copy.body::<PlaceOrder>().client_order_id),
            "my-order-1"
        );
    }

    #[test]
    fn kinds_decode() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_u8(kind as u8), Some(kind));
        }
        for (name, side) in Side::NAMES {
            assert_eq!((Side::from_u8(side as u8), side.name()), (Some(side), name));
        }
        for (name, status) in OrderStatus::NAMES {
            assert_eq!(
                OrderStatus::from_u8(status as u8).map(OrderStatus::name),
                Some(name)
            );
        }
        assert_eq!(TimeInForce::from_u8(0), None);
        assert_eq!(SelfTradePrevention::from_u8(4), None);
    }

    #[test]
    fn text_fields_reject_overflow() {
        assert!(text_field::<4>("abcde").is_none());
        assert_eq!(text_field::<4>("ab"), Some([b'a', b'b', 0, 0]));
    }
}
