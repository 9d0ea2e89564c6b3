//! The state hash: one 64-bit digest of the canonical state, walked in a fixed order
//! (ids, prices, queue order), never in hash-table order, so equal states hash equal
//! whatever the history of the pools.

use crate::accounts::Accounts;
use crate::arena::{Order, NIL};
use crate::book::OrderBook;
use crate::engine::Engine;
use crate::index::mix64;
use crate::message::Side;

/// Folds words into a running digest.
pub(crate) struct Digest(u64);

impl Digest {
    pub(crate) fn new() -> Self {
        Self(0x243f_6a88_85a3_08d3)
    }

    pub(crate) fn word(&mut self, word: u64) {
        self.0 = mix64(self.0.rotate_left(23) ^ word);
    }

    pub(crate) fn wide(&mut self, value: i128) {
        self.word(value as u64);
        self.word((value >> 64) as u64);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.word(u64::from_le_bytes(word));
        }
    }

    pub(crate) fn finish(&self) -> u64 {
        mix64(self.0)
    }
}

fn order_words(digest: &mut Digest, order: &Order) {
    for word in order.words() {
        digest.word(word);
    }
    for word in [
        order.market as u64,
        order.side as u64,
        order.stp as u64,
        order.post_only as u64,
    ] {
        digest.word(word);
    }
    digest.bytes(&order.client_order_id);
}

fn accounts_words(digest: &mut Digest, engine: &Engine, accounts: &Accounts) {
    for asset in 0..accounts.asset_count() {
        digest.word(accounts.fees[asset] as u64);
        digest.wide(accounts.deposited[asset]);
        digest.wide(accounts.withdrawn[asset]);
    }
    digest.word(accounts.user_count() as u64);
    for (index, user) in accounts.users().iter().enumerate() {
        let user_id = index as u64 + 1;
        digest.bytes(&user.username);
        digest.bytes(&user.salt);
        digest.bytes(&user.password_hash);
        digest.word(user.admin as u64);
        for asset in 0..accounts.asset_count() as u32 {
            let holding = accounts.holding(user_id, asset);
            digest.word(holding.available as u64);
            digest.word(holding.locked as u64);
        }
        let mut slot = user.first_order;
        while slot != NIL {
            let order = engine.arena.get(slot);
            digest.word(order.id);
            slot = order.user_next;
        }
        digest.word(u64::MAX);
    }
    digest.word(accounts.keys().len() as u64);
    for key in accounts.keys() {
        digest.bytes(&key.key_id);
        digest.bytes(&key.secret_hash);
        digest.word(key.user_id);
        digest.word(key.admin as u64);
    }
}

impl Engine {
    /// Digest of the canonical state: sequence and id counters, accounts (with their admin
    /// role) and keys, and every book (with its halt) level by level in priority order with
    /// every field of every order.
    pub fn state_hash(&self) -> u64 {
        let mut digest = Digest::new();
        digest.word(self.last_sequence);
        digest.word(self.next_order_id);
        digest.word(self.next_trade_id);
        accounts_words(&mut digest, self, &self.accounts);
        for (book, halted) in self.books.iter().zip(&self.halted) {
            digest.word(book.update_id());
            digest.word(*halted as u64);
            for side in [Side::Buy, Side::Sell] {
                let levels = book.side(side);
                digest.word(levels.len() as u64);
                for level in levels.iter_best_first() {
                    digest.word(level.price as u64);
                    digest.word(level.quantity as u64);
                    digest.word(level.count as u64);
                    for slot in OrderBook::queue(&self.arena, level) {
                        order_words(&mut digest, self.arena.get(slot));
                    }
                }
            }
        }
        digest.finish()
    }
}
