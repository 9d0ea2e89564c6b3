//! `pinwheel admin`: the operator's controls — the admin role of users, market halts, and
//! deposits or withdrawals for a user — sent to the running engine as journaled commands.
//!
//! The CLI claims an input ring in the run directory, as an edge does, and sends the command
//! as the operator (user 0); the engine stamps, journals and applies it like any other, so a
//! replay reproduces it. No edge, password or key is needed: access to the run directory
//! (mode 0700) is the operator's credential. Over the API, admin users do the same through
//! `/api/v1/admin/*` and the `userId` of `/on-ramp` and `/withdraw`.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use pinwheel_edge::operator::OperatorLink;
use pinwheel_engine::config::MarketTable;
use pinwheel_engine::message::{
    text_str, Balance, Command, CommandKind, Event, EventKind, MarketScope, MarketState, Reject,
    RejectReason, Transfer, UserLookup, UserRef, UserRole,
};
use pinwheel_engine::units::{asset_text, asset_units, Notation};

use crate::config::{CommonArgs, Config};

/// How long the whole exchange with the engine may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `pinwheel admin` subcommands.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Make a user an admin (may then use /api/v1/admin/* and move other users' balances).
    Grant(UserArgs),
    /// Take a user's admin role away.
    Revoke(UserArgs),
    /// Halt a market: new orders and amends to a new price are rejected MARKET_HALTED; cancels work.
    Halt(MarketArgs),
    /// Resume a halted market.
    Resume(MarketArgs),
    /// Deposit an amount of an asset into a user's account.
    Deposit(TransferArgs),
    /// Withdraw an amount of an asset from a user's account.
    Withdraw(TransferArgs),
}

/// A user, by name.
#[derive(Args, Debug)]
pub struct UserArgs {
    /// User name.
    pub user: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// A market, by symbol.
#[derive(Args, Debug)]
pub struct MarketArgs {
    /// Market symbol, e.g. BTC-USD.
    pub market: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// A user, an asset and a decimal amount.
#[derive(Args, Debug)]
pub struct TransferArgs {
    /// User name.
    pub user: String,
    /// Asset, e.g. USD.
    pub asset: String,
    /// Amount, a decimal, e.g. 1000.5.
    pub amount: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

impl AdminCommand {
    /// The configuration flags of the subcommand.
    pub fn common_mut(&mut self) -> &mut CommonArgs {
        match self {
            Self::Grant(args) | Self::Revoke(args) => &mut args.common,
            Self::Halt(args) | Self::Resume(args) => &mut args.common,
            Self::Deposit(args) | Self::Withdraw(args) => &mut args.common,
        }
    }
}

/// Runs one admin subcommand; prints what changed, or fails naming why nothing did.
pub fn run(command: &AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Grant(args) => role(args, CommandKind::GrantAdmin),
        AdminCommand::Revoke(args) => role(args, CommandKind::RevokeAdmin),
        AdminCommand::Halt(args) => halt(args, CommandKind::HaltMarket),
        AdminCommand::Resume(args) => halt(args, CommandKind::ResumeMarket),
        AdminCommand::Deposit(args) => transfer(args, CommandKind::Deposit),
        AdminCommand::Withdraw(args) => transfer(args, CommandKind::Withdraw),
    }
}

/// Sends one command as the operator; a reject becomes an error with its code.
fn send(config: &Config, command: Command) -> anyhow::Result<Vec<Event>> {
    let link = OperatorLink {
        run_dir: config.run_dir(),
        wait: config.wait_strategy()?,
        sync: config.durability == "sync",
        timeout: TIMEOUT,
    };
    let events = link.request(command)?;
    if let Some(event) = events
        .iter()
        .find(|e| e.head.kind == EventKind::Rejected as u8)
    {
        let reason = RejectReason::from_u16(event.body::<Reject>().reason)
            .unwrap_or(RejectReason::InvalidCommand);
        anyhow::bail!("{}: {}", reason.code(), reason.message());
    }
    Ok(events)
}

fn body_of<B: bytemuck::Pod>(events: &[Event], kind: EventKind) -> anyhow::Result<B> {
    events
        .iter()
        .find(|e| e.head.kind == kind as u8)
        .map(|e| e.body())
        .context("the engine's answer lacks its event")
}

fn user_ref(name: &str) -> anyhow::Result<UserRef> {
    UserRef::by_name(name).with_context(|| format!("user {name:?}: a user name is 1 to 32 bytes"))
}

fn role(args: &UserArgs, kind: CommandKind) -> anyhow::Result<()> {
    let config = Config::load(&args.common)?;
    let target = user_ref(&args.user)?;
    let events = send(&config, Command::new(kind as u8, &target))
        .with_context(|| format!("user {:?}", args.user))?;
    let role: UserRole = body_of(&events, EventKind::UserRole)?;
    let now = if role.admin != 0 {
        "is now"
    } else {
        "is no longer"
    };
    let name = text_str(&role.username);
    println!("{name} (user {}) {now} an admin", role.user_id);
    Ok(())
}

/// The configuration and its markets and assets.
fn load(common: &CommonArgs) -> anyhow::Result<(Config, MarketTable)> {
    let config = Config::load(common)?;
    let table = MarketTable::resolve(&config.engine).context("config [engine]")?;
    Ok((config, table))
}

/// The item of `items` called `name` (by `name_of`), or an error with the reject code.
fn configured<'a, T>(
    items: &'a [T],
    name: &str,
    name_of: impl Fn(&T) -> &str,
    what: &str,
) -> anyhow::Result<&'a T> {
    items
        .iter()
        .find(|item| name_of(item) == name)
        .with_context(|| {
            format!(
                "{what} {name:?}: UNKNOWN_{}: not configured",
                what.to_uppercase()
            )
        })
}

fn halt(args: &MarketArgs, kind: CommandKind) -> anyhow::Result<()> {
    let (config, table) = load(&args.common)?;
    let market = configured(&table.markets, &args.market, |m| &m.symbol, "market")?;
    let scope = MarketScope::of(market.id);
    let events = send(&config, Command::new(kind as u8, &scope))
        .with_context(|| format!("market {}", market.symbol))?;
    let state: MarketState = body_of(&events, EventKind::MarketState)?;
    let now = if state.halted != 0 {
        "halted"
    } else {
        "trading again"
    };
    println!("{} is {now}", market.symbol);
    Ok(())
}

fn transfer(args: &TransferArgs, kind: CommandKind) -> anyhow::Result<()> {
    let (config, table) = load(&args.common)?;
    let asset = configured(&table.assets, &args.asset, |a| &a.name, "asset")?;
    let amount = asset_units(&args.amount, asset, Notation::Plain, "amount")
        .map_err(|e| anyhow::anyhow!("INVALID_AMOUNT: {e}"))?;
    let lookup = UserLookup {
        username: user_ref(&args.user)?.username,
    };
    let user = send(&config, Command::new(CommandKind::QueryUser as u8, &lookup))
        .with_context(|| format!("user {:?}", args.user))?;
    let account =
        body_of::<pinwheel_engine::message::CreateUser>(&user, EventKind::UserInfo)?.user_id;
    let body = Transfer {
        asset: asset.id,
        amount,
        account,
        ..Default::default()
    };
    let events = send(&config, Command::new(kind as u8, &body))
        .with_context(|| format!("user {:?}", args.user))?;
    let balance: Balance = body_of(&events, EventKind::Balance)?;
    println!(
        "{} (user {account}) {}: available {}, locked {}",
        args.user,
        asset.name,
        asset_text(balance.available, asset),
        asset_text(balance.locked, asset)
    );
    Ok(())
}
