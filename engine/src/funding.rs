//! Commands on accounts: create a user, register an API key, deposit, withdraw (one's own
//! balance, or, for an admin, anyone's).

use crate::engine::{Engine, Outcome};
use crate::message::{
    ApiKey, CreateUser, EventKind, RejectReason, Transfer, UserCreated, FLAG_ADMIN_ONLY,
};
use crate::sink::Out;

impl Engine {
    pub(crate) fn create_user(&mut self, body: &CreateUser, out: &mut Out) -> Outcome {
        let name_len = body.username.iter().position(|&b| b == 0).unwrap_or(32);
        let name_ok = name_len > 0
            && body.username[name_len..].iter().all(|&b| b == 0)
            && core::str::from_utf8(&body.username[..name_len]).is_ok();
        if !name_ok {
            return Err(RejectReason::InvalidCommand);
        }
        if self.accounts.find_user(&body.username).is_some() {
            return Err(RejectReason::UserExists);
        }
        if self.accounts.users_full() {
            return Err(RejectReason::CapacityFull);
        }
        let user_id = self
            .accounts
            .create_user(body.username, body.salt, body.password_hash);
        let created = UserCreated {
            user_id,
            username: body.username,
        };
        out.emit(EventKind::UserCreated, user_id, 0, &created);
        Ok(())
    }

    pub(crate) fn create_api_key(&mut self, user_id: u64, body: &ApiKey, out: &mut Out) -> Outcome {
        self.require_user(user_id)?;
        if body.key_id == [0; 16] {
            return Err(RejectReason::InvalidCommand);
        }
        if self.accounts.find_key(&body.key_id).is_some() {
            return Err(RejectReason::ApiKeyExists);
        }
        if self.accounts.keys_full() {
            return Err(RejectReason::CapacityFull);
        }
        let key = ApiKey {
            user_id,
            reserved: [0; 7],
            ..*body
        };
        self.accounts.add_key(key);
        out.emit(EventKind::ApiKeyInfo, user_id, 0, &key);
        Ok(())
    }

    /// Checks a transfer asked by `asker`; returns the account whose balance moves.
    fn check_transfer(&self, asker: u64, body: &Transfer) -> Result<u64, RejectReason> {
        let for_another = body.account != 0 && body.account != asker;
        if for_another || body.flags & FLAG_ADMIN_ONLY != 0 {
            self.require_admin(asker)?;
        } else {
            self.require_user(asker)?;
        }
        let account = if body.account == 0 {
            asker
        } else {
            body.account
        };
        if !self.accounts.exists(account) {
            return Err(RejectReason::UserNotFound);
        }
        if body.asset as usize >= self.table.assets.len() {
            return Err(RejectReason::UnknownAsset);
        }
        if body.amount <= 0 {
            return Err(RejectReason::InvalidAmount);
        }
        Ok(account)
    }

    pub(crate) fn deposit(&mut self, asker: u64, body: &Transfer, out: &mut Out) -> Outcome {
        let user_id = self.check_transfer(asker, body)?;
        let asset = body.asset as usize;
        // Everything held of an asset is bounded by its net deposits, so keeping the net in
        // i64 range keeps every balance, lock and fee in range too.
        let net = self.accounts.deposited[asset] - self.accounts.withdrawn[asset];
        if net + body.amount as i128 > i64::MAX as i128 {
            return Err(RejectReason::Overflow);
        }
        self.accounts.deposited[asset] += body.amount as i128;
        self.accounts.holding_mut(user_id, body.asset).available += body.amount;
        self.emit_balance(user_id, body.asset, 0, out);
        Ok(())
    }

    pub(crate) fn withdraw(&mut self, asker: u64, body: &Transfer, out: &mut Out) -> Outcome {
        let user_id = self.check_transfer(asker, body)?;
        if self.accounts.holding(user_id, body.asset).available < body.amount {
            return Err(RejectReason::InsufficientBalance);
        }
        self.accounts.withdrawn[body.asset as usize] += body.amount as i128;
        self.accounts.holding_mut(user_id, body.asset).available -= body.amount;
        self.emit_balance(user_id, body.asset, 0, out);
        Ok(())
    }
}
