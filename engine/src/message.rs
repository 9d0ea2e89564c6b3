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

/// What a command asks the engine to do.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// Create a user; body [`CreateUser`]. Answer: [`EventKind::UserCreated`] or a reject.
    CreateUser = 1,
    /// Credit an asset; body [`Transfer`].
    Deposit = 2,
    /// Debit an asset; body [`Transfer`].
    Withdraw = 3,
    /// Place an order; body [`PlaceOrder`].
    PlaceOrder = 4,
    /// Cancel one order by id or by client order id; body [`CancelOrder`].
    CancelOrder = 5,
    /// Cancel every open order of the user, in one market or all; body [`MarketScope`].
    CancelAll = 6,
    /// Change price and/or quantity of an open order; body [`AmendOrder`].
    AmendOrder = 7,
    /// Register an API key; body [`ApiKey`].
    CreateApiKey = 8,
    /// Read-only: one order's state; body [`CancelOrder`] (same addressing).
    QueryOrder = 32,
    /// Read-only: price a market order against the book; body [`QuoteRequest`].
    QueryQuote = 33,
    /// Read-only: the user's balances, one [`EventKind::Balance`] per asset.
    QueryBalances = 34,
    /// Read-only: the user's open orders; body [`MarketScope`].
    QueryOpenOrders = 35,
    /// Read-only: aggregated book levels; body [`DepthRequest`].
    QueryDepth = 36,
    /// Read-only: a user's credentials by name; body [`UserLookup`].
    QueryUser = 37,
    /// Read-only: an API key's owner and secret hash; body [`ApiKey`] (key id only).
    QueryApiKey = 38,
}

impl CommandKind {
    /// Every command kind, for tables and tests.
    pub const ALL: [CommandKind; 15] = [
        Self::CreateUser,
        Self::Deposit,
        Self::Withdraw,
        Self::PlaceOrder,
        Self::CancelOrder,
        Self::CancelAll,
        Self::AmendOrder,
        Self::CreateApiKey,
        Self::QueryOrder,
        Self::QueryQuote,
        Self::QueryBalances,
        Self::QueryOpenOrders,
        Self::QueryDepth,
        Self::QueryUser,
        Self::QueryApiKey,
    ];

    /// Kind by byte, built from [`Self::ALL`]: decoding runs at least twice per command, so
    /// it is one load rather than a search.
    const BY_BYTE: [Option<Self>; 256] = {
        let mut table = [None; 256];
        let mut index = 0;
        while index < Self::ALL.len() {
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
}

impl EventKind {
    /// Every event kind, for tables and tests.
    pub const ALL: [EventKind; 12] = [
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
    ];

    /// Decodes a head's kind byte.
    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| *kind as u8 == value)
    }
}

/// Order side.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Bid.
    Buy = 1,
    /// Ask.
    Sell = 2,
}

/// Order type.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Limit order at `price`.
    Limit = 1,
    /// Market order by base `quantity`, or (buy only) by `quote_quantity`.
    Market = 2,
}

/// Time in force.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good till cancelled: the rest rests on the book.
    Gtc = 1,
    /// Immediate or cancel: the rest expires.
    Ioc = 2,
    /// Fill or kill: all at once, or nothing.
    Fok = 3,
}

/// Self-trade prevention mode (what happens when a taker would match its own user's maker).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelfTradePrevention {
    /// The taker's remainder expires (default).
    ExpireTaker = 1,
    /// The resting maker expires and matching continues.
    ExpireMaker = 2,
    /// Both expire.
    ExpireBoth = 3,
}

/// Order status as users see it.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Accepted, nothing filled yet.
    New = 1,
    /// Some filled, the rest open.
    PartiallyFilled = 2,
    /// All filled.
    Filled = 3,
    /// Cancelled by the user.
    Canceled = 4,
    /// Ended by the engine (IOC/FOK remainder, market order remainder, self-trade prevention).
    Expired = 5,
    /// Never accepted.
    Rejected = 6,
}

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
    /// The order belongs to another user (reported to users as UnknownOrder by the edge).
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
}

impl RejectReason {
    /// Every reason, for tables and tests.
    pub const ALL: [RejectReason; 21] = [
        Self::UnknownMarket,
        Self::UnknownAsset,
        Self::UnknownUser,
        Self::InsufficientBalance,
        Self::InvalidPrice,
        Self::InvalidQuantity,
        Self::BelowMinimum,
        Self::PostOnlyWouldCross,
        Self::FokNotFillable,
        Self::UnknownOrder,
        Self::NotOwner,
        Self::CapacityFull,
        Self::UserExists,
        Self::NoLiquidity,
        Self::DuplicateClientOrderId,
        Self::InvalidAmount,
        Self::InvalidCommand,
        Self::InvalidAmend,
        Self::ApiKeyExists,
        Self::UnknownApiKey,
        Self::Overflow,
    ];

    /// Decodes a reject body's reason.
    pub fn from_u16(value: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| *reason as u16 == value)
    }

    /// The stable error code clients see, e.g. `INSUFFICIENT_BALANCE`.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownMarket => "UNKNOWN_MARKET",
            Self::UnknownAsset => "UNKNOWN_ASSET",
            Self::UnknownUser => "UNKNOWN_USER",
            Self::InsufficientBalance => "INSUFFICIENT_BALANCE",
            Self::InvalidPrice => "INVALID_PRICE",
            Self::InvalidQuantity => "INVALID_QUANTITY",
            Self::BelowMinimum => "BELOW_MINIMUM",
            Self::PostOnlyWouldCross => "POST_ONLY_WOULD_CROSS",
            Self::FokNotFillable => "FOK_NOT_FILLABLE",
            Self::UnknownOrder => "UNKNOWN_ORDER",
            Self::NotOwner => "UNKNOWN_ORDER",
            Self::CapacityFull => "CAPACITY_FULL",
            Self::UserExists => "USER_EXISTS",
            Self::NoLiquidity => "NO_LIQUIDITY",
            Self::DuplicateClientOrderId => "DUPLICATE_CLIENT_ORDER_ID",
            Self::InvalidAmount => "INVALID_AMOUNT",
            Self::InvalidCommand => "INVALID_COMMAND",
            Self::InvalidAmend => "INVALID_AMEND",
            Self::ApiKeyExists => "API_KEY_EXISTS",
            Self::UnknownApiKey => "UNKNOWN_API_KEY",
            Self::Overflow => "OVERFLOW",
        }
    }

    /// A sentence saying what was wrong, for the error's `message`.
    pub fn message(self) -> &'static str {
        match self {
            Self::UnknownMarket => "no such market",
            Self::UnknownAsset => "no such asset",
            Self::UnknownUser => "no such user",
            Self::InsufficientBalance => "not enough available balance",
            Self::InvalidPrice => "price must be a positive multiple of the market's tick size",
            Self::InvalidQuantity => {
                "quantity must be a positive multiple of the market's lot size"
            }
            Self::BelowMinimum => "quantity is below the market's minimum",
            Self::PostOnlyWouldCross => "post-only order would take liquidity",
            Self::FokNotFillable => "fill-or-kill order cannot be filled completely",
            Self::UnknownOrder | Self::NotOwner => "no such open order",
            Self::CapacityFull => "the exchange is at capacity for this kind of object",
            Self::UserExists => "user name is taken",
            Self::NoLiquidity => "no liquidity on the other side of the book",
            Self::DuplicateClientOrderId => "client order id is already used by an open order",
            Self::InvalidAmount => "amount must be positive",
            Self::InvalidCommand => "malformed command",
            Self::InvalidAmend => "amend must change price or lower quantity",
            Self::ApiKeyExists => "API key id is taken",
            Self::UnknownApiKey => "no such API key",
            Self::Overflow => "numbers too large for this market",
        }
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

/// Body of [`CommandKind::CancelOrder`] and [`CommandKind::QueryOrder`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct CancelOrder {
    /// Market id, or [`ALL_MARKETS`] when unknown.
    pub market: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Engine order id (0 = address by client order id instead).
    pub order_id: u64,
    /// Client order id, used when `order_id` is 0.
    pub client_order_id: [u8; TEXT_LEN],
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

/// Body of [`CommandKind::Deposit`] and [`CommandKind::Withdraw`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Transfer {
    /// Asset id (index in the configured asset table).
    pub asset: u32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Amount in the asset's smallest units, positive.
    pub amount: i64,
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
    /// Non-zero: the key may deposit even when public on-ramp is off.
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
    fn kinds_and_reasons_decode() {
        for kind in CommandKind::ALL {
            assert_eq!(CommandKind::from_u8(kind as u8), Some(kind));
        }
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_u8(kind as u8), Some(kind));
        }
        for reason in RejectReason::ALL {
            assert_eq!(RejectReason::from_u16(reason as u16), Some(reason));
        }
        assert!(CommandKind::QueryDepth.is_query());
        assert!(!CommandKind::PlaceOrder.is_query());
    }

    #[test]
    fn text_fields_reject_overflow() {
        assert!(text_field::<4>("abcde").is_none());
        assert_eq!(text_field::<4>("ab"), Some([b'a', b'b', 0, 0]));
    }
}
