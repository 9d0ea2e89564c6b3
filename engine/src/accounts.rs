//! Users, their balances per asset, API keys, the fee account and the money totals the
//! conservation invariant is checked against. Fixed pools; ids are dense (user id = index + 1).

use crate::arena::NIL;
use crate::index::{hash_bytes, FixedIndex};
use crate::message::ApiKey;

const NAME_SEED: u64 = 1;
const KEY_SEED: u64 = 2;

/// Available and locked amounts of one asset, in the asset's smallest units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    /// Free to spend or withdraw.
    pub available: i64,
    /// Held by open orders.
    pub locked: i64,
}

/// A user's credentials and the ends of its open-order list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct User {
    /// User name, zero-padded.
    pub username: [u8; 32],
    /// Password salt (chosen by the edge).
    pub salt: [u8; 16],
    /// Password hash (computed by the edge).
    pub password_hash: [u8; 32],
    /// Holds the admin role (granted and revoked by journaled commands; see [`crate::admin`]).
    pub admin: bool,
    pub(crate) first_order: u32,
    pub(crate) last_order: u32,
}

/// Every account in the engine.
#[derive(Clone, Debug)]
pub struct Accounts {
    users: Vec<User>,
    holdings: Vec<Holding>,
    asset_count: usize,
    names: FixedIndex,
    keys: Vec<ApiKey>,
    key_index: FixedIndex,
    /// Fees collected per asset.
    pub(crate) fees: Vec<i64>,
    /// Total deposited per asset.
    pub(crate) deposited: Vec<i128>,
    /// Total withdrawn per asset.
    pub(crate) withdrawn: Vec<i128>,
    user_capacity: usize,
    key_capacity: usize,
}

impl Accounts {
    /// Pools for `users` users and `keys` API keys over `asset_count` assets.
    pub fn new(users: usize, keys: usize, asset_count: usize) -> Self {
        Self {
            users: Vec::with_capacity(users),
            holdings: Vec::with_capacity(users * asset_count),
            asset_count,
            names: FixedIndex::new(users),
            keys: Vec::with_capacity(keys),
            key_index: FixedIndex::new(keys),
            fees: vec![0; asset_count],
            deposited: vec![0; asset_count],
            withdrawn: vec![0; asset_count],
            user_capacity: users,
            key_capacity: keys,
        }
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Number of assets.
    pub fn asset_count(&self) -> usize {
        self.asset_count
    }

    /// True if `user_id` names a user.
    pub fn exists(&self, user_id: u64) -> bool {
        user_id >= 1 && user_id <= self.users.len() as u64
    }

    /// The user with this id (which must exist).
    pub fn user(&self, user_id: u64) -> &User {
        &self.users[(user_id - 1) as usize]
    }

    pub(crate) fn user_mut(&mut self, user_id: u64) -> &mut User {
        &mut self.users[(user_id - 1) as usize]
    }

    /// True when no more users fit.
    pub fn users_full(&self) -> bool {
        self.users.len() >= self.user_capacity
    }

    /// The id of the user with this name.
    pub fn find_user(&self, username: &[u8; 32]) -> Option<u64> {
        self.names
            .find(hash_bytes(NAME_SEED, username), |slot| {
                self.users[slot as usize].username == *username
            })
            .map(|slot| slot as u64 + 1)
    }

    /// Adds a user (name checked free, pool checked not full); returns its id.
    pub fn create_user(
        &mut self,
        username: [u8; 32],
        salt: [u8; 16],
        password_hash: [u8; 32],
    ) -> u64 {
        assert!(!self.users_full(), "user pool full");
        let slot = self.users.len() as u32;
        self.users.push(User {
            username,
            salt,
            password_hash,
            admin: false,
            first_order: NIL,
            last_order: NIL,
        });
        for _ in 0..self.asset_count {
            self.holdings.push(Holding::default());
        }
        self.names.insert(hash_bytes(NAME_SEED, &username), slot);
        slot as u64 + 1
    }

    /// A user's holding of an asset.
    pub fn holding(&self, user_id: u64, asset: u32) -> Holding {
        self.holdings[self.cell(user_id, asset)]
    }

    pub(crate) fn holding_mut(&mut self, user_id: u64, asset: u32) -> &mut Holding {
        let cell = self.cell(user_id, asset);
        &mut self.holdings[cell]
    }

    fn cell(&self, user_id: u64, asset: u32) -> usize {
        debug_assert!(self.exists(user_id) && (asset as usize) < self.asset_count);
        (user_id - 1) as usize * self.asset_count + asset as usize
    }

    /// Moves `amount` from available to locked (the caller checked it is available).
    pub(crate) fn lock(&mut self, user_id: u64, asset: u32, amount: i64) {
        let holding = self.holding_mut(user_id, asset);
        assert!(
            amount >= 0 && holding.available >= amount,
            "lock beyond available"
        );
        holding.available -= amount;
        holding.locked += amount;
    }

    /// Moves `amount` from locked back to available.
    pub(crate) fn unlock(&mut self, user_id: u64, asset: u32, amount: i64) {
        let holding = self.holding_mut(user_id, asset);
        assert!(
            amount >= 0 && holding.locked >= amount,
            "unlock beyond locked"
        );
        holding.locked -= amount;
        holding.available += amount;
    }

    /// The API key with this id.
    pub fn find_key(&self, key_id: &[u8; 16]) -> Option<&ApiKey> {
        self.key_index
            .find(hash_bytes(KEY_SEED, key_id), |slot| {
                self.keys[slot as usize].key_id == *key_id
            })
            .map(|slot| &self.keys[slot as usize])
    }

    /// True when no more keys fit.
    pub fn keys_full(&self) -> bool {
        self.keys.len() >= self.key_capacity
    }

    /// Adds a key (id checked free, pool checked not full).
    pub fn add_key(&mut self, key: ApiKey) {
        assert!(!self.keys_full(), "key pool full");
        let slot = self.keys.len() as u32;
        self.keys.push(key);
        self.key_index
            .insert(hash_bytes(KEY_SEED, &key.key_id), slot);
    }

    /// Keys in creation order.
    pub fn keys(&self) -> &[ApiKey] {
        &self.keys
    }

    /// Users in id order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Fees collected in an asset.
    pub fn fees(&self, asset: u32) -> i64 {
        self.fees[asset as usize]
    }
}
