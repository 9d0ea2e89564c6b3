//! Read-only commands: they emit answers and change nothing.

use crate::book::opposite;
use crate::engine::{open_status, Engine, Outcome};
use crate::message::{
    ApiKey, BookDelta, CreateUser, DepthRequest, EventKind, MarketScope, OrderAddress, OrderType,
    QuoteRequest, QuoteResult, RejectReason, SelfTradePrevention, Side, TimeInForce, UserLookup,
    FLAG_QUERY_ANSWER,
};
use crate::sink::Out;

impl Engine {
    pub(crate) fn query_order(&self, user_id: u64, body: &OrderAddress, out: &mut Out) -> Outcome {
        let slot = self.find_own_order(user_id, body)?;
        let order = self.arena.get(slot);
        self.emit_order(
            order,
            OrderType::Limit,
            TimeInForce::Gtc,
            open_status(order),
            FLAG_QUERY_ANSWER,
            out,
        );
        Ok(())
    }

    /// Prices a market order against the book as it stands (ignoring self-trade prevention).
    pub(crate) fn query_quote(&self, body: &QuoteRequest, out: &mut Out) -> Outcome {
        self.market(body.market)?;
        let side = match body.side {
            1 => Side::Buy,
            2 => Side::Sell,
            _ => return Err(RejectReason::InvalidCommand),
        };
        let by_quote = body.quote_quantity != 0;
        let valid = if by_quote {
            side == Side::Buy && body.quantity == 0 && body.quote_quantity > 0
        } else {
            body.quantity > 0
        };
        if !valid {
            return Err(RejectReason::InvalidQuantity);
        }
        let (max_quantity, budget) = if by_quote {
            (i64::MAX, Some(body.quote_quantity))
        } else {
            (body.quantity, None)
        };
        let walk = self.walk(
            body.market,
            side,
            None,
            max_quantity,
            budget,
            0,
            SelfTradePrevention::ExpireTaker,
        )?;
        let result = QuoteResult {
            market: body.market,
            side: side as u8,
            reserved: [0; 3],
            fillable_quantity: walk.quantity,
            cost: walk.cost,
            worst_price: walk.worst_price,
            best_price: walk.best_price,
        };
        out.emit(EventKind::Quote, 0, FLAG_QUERY_ANSWER, &result);
        Ok(())
    }

    pub(crate) fn query_balances(&self, user_id: u64, out: &mut Out) -> Outcome {
        self.require_user(user_id)?;
        for asset in 0..self.table.assets.len() as u32 {
            self.emit_balance(user_id, asset, FLAG_QUERY_ANSWER, out);
        }
        Ok(())
    }

    pub(crate) fn query_open_orders(
        &self,
        user_id: u64,
        body: &MarketScope,
        out: &mut Out,
    ) -> Outcome {
        let mut cursor = self.first_order_in(user_id, body)?;
        while let Some(slot) = self.next_order_in(&mut cursor, body) {
            let order = self.arena.get(slot);
            let status = open_status(order);
            let (order_type, tif) = (OrderType::Limit, TimeInForce::Gtc);
            self.emit_order(order, order_type, tif, status, FLAG_QUERY_ANSWER, out);
        }
        Ok(())
    }

    /// Bids best first, then asks best first; each level carries the book's update id.
    pub(crate) fn query_depth(&self, body: &DepthRequest, out: &mut Out) -> Outcome {
        self.market(body.market)?;
        let max = self.capacity.depth_levels;
        let limit = if body.limit == 0 {
            max
        } else {
            (body.limit as usize).min(max)
        };
        let book = &self.books[body.market as usize];
        // First the book's update id, so an empty book's answer carries it too.
        let header = BookDelta {
            market: body.market,
            update_id: book.update_id(),
            ..Default::default()
        };
        out.emit(EventKind::DepthSequence, 0, FLAG_QUERY_ANSWER, &header);
        for side in [Side::Buy, opposite(Side::Buy)] {
            for level in book.side(side).iter_best_first().take(limit) {
                let body = BookDelta {
                    market: body.market,
                    side: side as u8,
                    reserved: [0; 3],
                    price: level.price,
                    quantity: level.quantity,
                    update_id: book.update_id(),
                };
                out.emit(EventKind::DepthLevel, 0, FLAG_QUERY_ANSWER, &body);
            }
        }
        Ok(())
    }

    pub(crate) fn query_user(&self, body: &UserLookup, out: &mut Out) -> Outcome {
        let user_id = self
            .accounts
            .find_user(&body.username)
            .ok_or(RejectReason::UnknownUser)?;
        let user = self.accounts.user(user_id);
        let info = CreateUser {
            username: user.username,
            salt: user.salt,
            password_hash: user.password_hash,
            user_id,
        };
        out.emit(EventKind::UserInfo, user_id, FLAG_QUERY_ANSWER, &info);
        Ok(())
    }

    pub(crate) fn query_api_key(&self, body: &ApiKey, out: &mut Out) -> Outcome {
        let key = self
            .accounts
            .find_key(&body.key_id)
            .ok_or(RejectReason::UnknownApiKey)?;
        out.emit(EventKind::ApiKeyInfo, key.user_id, FLAG_QUERY_ANSWER, key);
        Ok(())
    }
}
