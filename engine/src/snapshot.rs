//! Snapshots: the whole canonical state as a little-endian byte stream, ending with the
//! state hash so a reader can prove it rebuilt exactly what was written.
//!
//! Layout: magic, version, asset and market counts; sequence and id counters; per asset
//! fees and money totals; users (credentials, admin role, holdings, open order ids in list
//! order); API keys; per market the update id, the halt and, per side, levels best first
//! with their orders in queue order; the state hash.

use std::io::{Error, ErrorKind, Read, Result, Write};

use crate::arena::{Order, NIL};
use crate::book::OrderBook;
use crate::config::{Capacity, MarketTable};
use crate::engine::Engine;
use crate::message::{ApiKey, SelfTradePrevention, Side, TEXT_LEN};

const MAGIC: [u8; 8] = *b"PWSNAP01";
/// 2: users carry their admin role, markets their halt.
const VERSION: u64 = 2;

fn invalid(what: String) -> Error {
    Error::new(ErrorKind::InvalidData, format!("snapshot: {what}"))
}

struct Writer<'a, W: Write>(&'a mut W);

impl<W: Write> Writer<'_, W> {
    fn u64(&mut self, value: u64) -> Result<()> {
        self.0.write_all(&value.to_le_bytes())
    }
    fn i128(&mut self, value: i128) -> Result<()> {
        self.0.write_all(&value.to_le_bytes())
    }
    fn bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.0.write_all(bytes)
    }
}

struct Reader<'a, R: Read>(&'a mut R);

impl<R: Read> Reader<'_, R> {
    fn u64(&mut self) -> Result<u64> {
        let mut buffer = [0u8; 8];
        self.0.read_exact(&mut buffer)?;
        Ok(u64::from_le_bytes(buffer))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }
    fn i128(&mut self) -> Result<i128> {
        let mut buffer = [0u8; 16];
        self.0.read_exact(&mut buffer)?;
        Ok(i128::from_le_bytes(buffer))
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut buffer = [0u8; N];
        self.0.read_exact(&mut buffer)?;
        Ok(buffer)
    }
    /// A 0/1 word.
    fn flag(&mut self, what: &str) -> Result<bool> {
        match self.u64()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(invalid(format!("{what} is {other}, not 0 or 1"))),
        }
    }
    /// A count that must not exceed `limit` (so a damaged file cannot ask for huge work).
    fn count(&mut self, limit: usize, what: &str) -> Result<usize> {
        let count = self.u64()?;
        if count > limit as u64 {
            return Err(invalid(format!(
                "{count} {what} exceed the configured capacity {limit}"
            )));
        }
        Ok(count as usize)
    }
}

fn write_order<W: Write>(out: &mut Writer<W>, order: &Order) -> Result<()> {
    for word in order.words() {
        out.u64(word)?;
    }
    out.u64(order.stp as u64 | (order.post_only as u64) << 8)?;
    out.bytes(&order.client_order_id)
}

fn read_order<R: Read>(input: &mut Reader<R>, market: u32, side: Side) -> Result<Order> {
    let mut order = Order::new(input.u64()?, side, 0, 0);
    order.user_id = input.u64()?;
    order.price = input.i64()?;
    order.quantity = input.i64()?;
    order.remaining = input.i64()?;
    order.executed_quantity = input.i64()?;
    order.executed_quote = input.i64()?;
    order.locked = input.i64()?;
    let flags = input.u64()?;
    order.stp = match flags & 0xff {
        1 => SelfTradePrevention::ExpireTaker,
        2 => SelfTradePrevention::ExpireMaker,
        3 => SelfTradePrevention::ExpireBoth,
        other => {
            return Err(invalid(format!(
                "order {}: bad self-trade mode {other}",
                order.id
            )))
        }
    };
    order.post_only = flags >> 8 != 0;
    order.client_order_id = input.array::<TEXT_LEN>()?;
    order.market = market;
    Ok(order)
}

impl Engine {
    /// Writes the canonical state (wrap `out` in a `BufWriter` for files).
    pub fn write_snapshot(&self, out: &mut impl Write) -> Result<()> {
        let mut w = Writer(out);
        w.bytes(&MAGIC)?;
        for word in [
            VERSION,
            self.table.assets.len() as u64,
            self.table.markets.len() as u64,
        ] {
            w.u64(word)?;
        }
        for word in [self.last_sequence, self.next_order_id, self.next_trade_id] {
            w.u64(word)?;
        }
        let accounts = &self.accounts;
        for asset in 0..accounts.asset_count() {
            w.u64(accounts.fees[asset] as u64)?;
            w.i128(accounts.deposited[asset])?;
            w.i128(accounts.withdrawn[asset])?;
        }
        w.u64(accounts.user_count() as u64)?;
        for (index, user) in accounts.users().iter().enumerate() {
            let user_id = index as u64 + 1;
            w.bytes(&user.username)?;
            w.bytes(&user.salt)?;
            w.bytes(&user.password_hash)?;
            w.u64(user.admin as u64)?;
            for asset in 0..accounts.asset_count() as u32 {
                let holding = accounts.holding(user_id, asset);
                w.u64(holding.available as u64)?;
                w.u64(holding.locked as u64)?;
            }
            let mut ids = Vec::new();
            let mut slot = user.first_order;
            while slot != NIL {
                ids.push(self.arena.get(slot).id);
                slot = self.arena.get(slot).user_next;
            }
            w.u64(ids.len() as u64)?;
            for id in ids {
                w.u64(id)?;
            }
        }
        w.u64(accounts.keys().len() as u64)?;
        for key in accounts.keys() {
            w.bytes(bytemuck::bytes_of(key))?;
        }
        for (book, halted) in self.books.iter().zip(&self.halted) {
            w.u64(book.update_id())?;
            w.u64(*halted as u64)?;
            for side in [Side::Buy, Side::Sell] {
                w.u64(book.side(side).len() as u64)?;
                for level in book.side(side).iter_best_first() {
                    w.u64(level.count as u64)?;
                    for slot in OrderBook::queue(&self.arena, level) {
                        write_order(&mut w, self.arena.get(slot))?;
                    }
                }
            }
        }
        w.u64(self.state_hash())
    }

    /// Rebuilds an engine from [`Engine::write_snapshot`] output for the same market table;
    /// refuses (InvalidData, naming the problem) a damaged or mismatched snapshot.
    pub fn read_snapshot(
        input: &mut impl Read,
        table: MarketTable,
        capacity: &Capacity,
    ) -> Result<Engine> {
        let mut r = Reader(input);
        if r.array::<8>()? != MAGIC {
            return Err(invalid("not a Pinwheel snapshot (bad magic)".into()));
        }
        let version = r.u64()?;
        if version != VERSION {
            return Err(invalid(format!(
                "version {version}, this build reads {VERSION}"
            )));
        }
        let (assets, markets) = (r.u64()?, r.u64()?);
        if assets != table.assets.len() as u64 || markets != table.markets.len() as u64 {
            return Err(invalid(format!(
                "{assets} assets / {markets} markets, the configuration has {} / {}",
                table.assets.len(),
                table.markets.len()
            )));
        }
        let mut engine = Engine::new(table, capacity);
        engine.last_sequence = r.u64()?;
        engine.next_order_id = r.u64()?;
        engine.next_trade_id = r.u64()?;
        for asset in 0..assets as usize {
            engine.accounts.fees[asset] = r.i64()?;
            engine.accounts.deposited[asset] = r.i128()?;
            engine.accounts.withdrawn[asset] = r.i128()?;
        }
        let user_lists = read_users(&mut r, &mut engine)?;
        read_keys(&mut r, &mut engine)?;
        read_books(&mut r, &mut engine)?;
        link_user_lists(&mut engine, &user_lists)?;
        let expected = r.u64()?;
        let actual = engine.state_hash();
        if expected != actual {
            return Err(invalid(format!(
                "state hash {actual:#x} after reading, {expected:#x} written"
            )));
        }
        engine.check_invariants().map_err(invalid)?;
        Ok(engine)
    }
}

fn read_users<R: Read>(r: &mut Reader<R>, engine: &mut Engine) -> Result<Vec<Vec<u64>>> {
    let users = r.count(engine.capacity.users, "users")?;
    let mut lists = Vec::with_capacity(users);
    for _ in 0..users {
        let username = r.array::<32>()?;
        let salt = r.array::<16>()?;
        let password_hash = r.array::<32>()?;
        let admin = r.flag("a user's admin role")?;
        if engine.accounts.find_user(&username).is_some() {
            return Err(invalid("a user name appears twice".into()));
        }
        let user_id = engine.accounts.create_user(username, salt, password_hash);
        engine.accounts.user_mut(user_id).admin = admin;
        for asset in 0..engine.accounts.asset_count() as u32 {
            let holding = engine.accounts.holding_mut(user_id, asset);
            holding.available = r.i64()?;
            holding.locked = r.i64()?;
        }
        let count = r.count(engine.capacity.orders, "open orders of a user")?;
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            ids.push(r.u64()?);
        }
        lists.push(ids);
    }
    Ok(lists)
}

fn read_keys<R: Read>(r: &mut Reader<R>, engine: &mut Engine) -> Result<()> {
    let keys = r.count(engine.capacity.api_keys, "API keys")?;
    for _ in 0..keys {
        let key: ApiKey = bytemuck::pod_read_unaligned(&r.array::<64>()?);
        if engine.accounts.find_key(&key.key_id).is_some() || !engine.accounts.exists(key.user_id) {
            return Err(invalid("an API key is duplicated or has no owner".into()));
        }
        engine.accounts.add_key(key);
    }
    Ok(())
}

fn read_books<R: Read>(r: &mut Reader<R>, engine: &mut Engine) -> Result<()> {
    for market in 0..engine.books.len() as u32 {
        let update_id = r.u64()?;
        engine.halted[market as usize] = r.flag("a market's halt")?;
        for side in [Side::Buy, Side::Sell] {
            let levels = r.count(engine.capacity.price_levels, "price levels")?;
            for _ in 0..levels {
                let count = r.count(engine.capacity.orders, "orders of a level")?;
                for _ in 0..count {
                    let order = read_order(r, market, side)?;
                    let valid = order.remaining > 0
                        && order.price > 0
                        && engine.accounts.exists(order.user_id);
                    if !valid
                        || !engine.books[market as usize]
                            .side(side)
                            .can_rest_at(order.price)
                    {
                        return Err(invalid(format!(
                            "order {} is malformed or exceeds capacity",
                            order.id
                        )));
                    }
                    let slot = engine.arena.insert(order).ok_or_else(|| {
                        invalid(format!("order {} duplicated or pool full", order.id))
                    })?;
                    engine.books[market as usize].push_back(&mut engine.arena, slot);
                }
            }
        }
        engine.books[market as usize].set_update_id(update_id);
    }
    Ok(())
}

/// Threads each user's orders in the written order and indexes client order ids.
fn link_user_lists(engine: &mut Engine, lists: &[Vec<u64>]) -> Result<()> {
    let mut linked = 0usize;
    for (index, ids) in lists.iter().enumerate() {
        let user_id = index as u64 + 1;
        for id in ids {
            let slot = engine
                .arena
                .find(*id)
                .ok_or_else(|| invalid(format!("order {id} listed but not on a book")))?;
            let order = *engine.arena.get(slot);
            if order.user_id != user_id {
                return Err(invalid(format!("order {id} listed under the wrong user")));
            }
            let listed =
                order.user_prev != NIL || engine.accounts.user(user_id).first_order == slot;
            let client_id_taken = order.client_order_id != [0; TEXT_LEN]
                && engine
                    .find_client_id(user_id, &order.client_order_id)
                    .is_some();
            if listed || client_id_taken {
                return Err(invalid(format!(
                    "order {id} listed twice or its client id reused"
                )));
            }
            engine.arena.remove(slot);
            let relinked = engine.attach(order);
            // `attach` reuses the slot just freed, so the book's queue links still hold.
            assert_eq!(
                relinked, slot,
                "free stack must hand back the slot just freed"
            );
            linked += 1;
        }
    }
    if linked != engine.arena.len() {
        return Err(invalid("some open orders are in no user's list".into()));
    }
    Ok(())
}
