//! Operator controls: the admin role of users and the halt of markets, journaled and
//! replayed like every other command.
//!
//! Who asks is the command head's user. An admin user may grant, revoke, halt, resume and
//! move another user's balance. User 0 in the head is the operator: only a process with the
//! run directory's rings writes it (the `pinwheel admin` CLI); an edge always puts the
//! authenticated user there, and its anonymous commands (sign-up, credential look-ups) are
//! kinds that never consult the role.

use crate::engine::{Engine, Outcome};
use crate::message::{
    EventKind, MarketScope, MarketState, RejectReason, UserRef, UserRole, ALL_MARKETS,
};
use crate::sink::Out;

/// The head user that stands for the operator.
pub const OPERATOR: u64 = 0;

impl Engine {
    /// Ok if `asker` is the operator or an admin user.
    pub(crate) fn require_admin(&self, asker: u64) -> Outcome {
        if asker == OPERATOR {
            return Ok(());
        }
        self.require_user(asker)?;
        if self.accounts.user(asker).admin {
            Ok(())
        } else {
            Err(RejectReason::AdminOnly)
        }
    }

    /// The id of the user a command names (by id, or by name when the id is 0).
    pub(crate) fn named_user(&self, target: &UserRef) -> Result<u64, RejectReason> {
        let found = if target.user_id != 0 {
            Some(target.user_id).filter(|id| self.accounts.exists(*id))
        } else {
            self.accounts.find_user(&target.username)
        };
        found.ok_or(RejectReason::UserNotFound)
    }

    /// GrantAdmin. Event: UserRole.
    pub(crate) fn grant_admin(&mut self, asker: u64, body: &UserRef, out: &mut Out) -> Outcome {
        self.set_admin(asker, body, true, out)
    }

    /// RevokeAdmin. Event: UserRole.
    pub(crate) fn revoke_admin(&mut self, asker: u64, body: &UserRef, out: &mut Out) -> Outcome {
        self.set_admin(asker, body, false, out)
    }

    fn set_admin(&mut self, asker: u64, body: &UserRef, admin: bool, out: &mut Out) -> Outcome {
        self.require_admin(asker)?;
        let user_id = self.named_user(body)?;
        if self.accounts.user(user_id).admin == admin {
            return Err(RejectReason::RoleUnchanged);
        }
        let user = self.accounts.user_mut(user_id);
        user.admin = admin;
        let role = UserRole {
            user_id,
            username: user.username,
            admin: admin as u8,
            reserved: [0; 7],
        };
        out.emit(EventKind::UserRole, user_id, 0, &role);
        Ok(())
    }

    /// HaltMarket. Event: MarketState.
    pub(crate) fn halt_market(&mut self, asker: u64, body: &MarketScope, out: &mut Out) -> Outcome {
        self.set_halted(asker, body, true, out)
    }

    /// ResumeMarket. Event: MarketState.
    pub(crate) fn resume_market(
        &mut self,
        asker: u64,
        body: &MarketScope,
        out: &mut Out,
    ) -> Outcome {
        self.set_halted(asker, body, false, out)
    }

    fn set_halted(
        &mut self,
        asker: u64,
        body: &MarketScope,
        halted: bool,
        out: &mut Out,
    ) -> Outcome {
        self.require_admin(asker)?;
        if body.market == ALL_MARKETS {
            return Err(RejectReason::UnknownMarket);
        }
        self.market(body.market)?;
        match (self.halted[body.market as usize], halted) {
            (true, true) => return Err(RejectReason::MarketHalted),
            (false, false) => return Err(RejectReason::MarketNotHalted),
            _ => {}
        }
        self.halted[body.market as usize] = halted;
        let state = MarketState {
            market: body.market,
            halted: halted as u8,
            reserved: [0; 3],
        };
        out.emit(EventKind::MarketState, asker, 0, &state);
        Ok(())
    }

    /// Err(MarketHalted) if `market` (a configured one) is halted.
    pub(crate) fn require_trading(&self, market: u32) -> Outcome {
        if self.halted[market as usize] {
            Err(RejectReason::MarketHalted)
        } else {
            Ok(())
        }
    }

    /// Whether a market is halted (for inspection and tests).
    pub fn is_halted(&self, market: u32) -> bool {
        self.halted.get(market as usize).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{
        AmendOrder, Command, CommandKind, Event, OrderAddress, OrderUpdate, PlaceOrder, Reject,
        Side, Transfer, FLAG_ADMIN_ONLY,
    };
    use crate::test_fixture::{limit_order, run, two_users, BTC_USD, ETH_USD, USD};

    use CommandKind as K;
    use RejectReason as R;

    const ALICE: u64 = 1;
    const BOB: u64 = 2;

    /// One command by one asker, and what must come of it (`None`: accepted).
    fn step<B: bytemuck::Pod>(kind: K, asker: u64, body: &B, outcome: Option<R>) -> Step {
        (Command::from_user(kind, asker, body), outcome)
    }

    type Step = (Command, Option<R>);

    /// Runs the steps in order: an accepted one must change the state, a refused one must
    /// leave it as it was. Returns the last step's events.
    fn steps(engine: &mut Engine, steps: &[Step]) -> Vec<Event> {
        let mut events = Vec::new();
        for (command, outcome) in steps {
            let kind = K::from_u8(command.head.kind).unwrap();
            let before = engine.state_hash();
            events = run(engine, kind, command.head.user_id, &command.body);
            let rejected = events
                .iter()
                .find(|e| e.head.kind == EventKind::Rejected as u8)
                .and_then(|e| R::from_u16(e.body::<Reject>().reason));
            assert_eq!(rejected, *outcome, "{kind:?} by {}", command.head.user_id);
            let changed = engine.state_hash() != before;
            assert_eq!(changed, outcome.is_none(), "{kind:?} and the state");
        }
        events
    }

    fn name(name: &str) -> UserRef {
        UserRef::by_name(name).unwrap()
    }

    fn market(market: u32) -> MarketScope {
        MarketScope::of(market)
    }

    #[test]
    fn the_operator_grants_and_only_admins_grant_revoke_halt_and_resume() {
        let (mut engine, alice, bob) = two_users();
        assert_eq!((alice, bob), (ALICE, BOB));
        let btc = market(BTC_USD);
        steps(
            &mut engine,
            &[
                step(K::GrantAdmin, ALICE, &name("bob"), Some(R::AdminOnly)),
                step(K::RevokeAdmin, ALICE, &name("bob"), Some(R::AdminOnly)),
                step(K::HaltMarket, BOB, &btc, Some(R::AdminOnly)),
                step(K::ResumeMarket, BOB, &btc, Some(R::AdminOnly)),
            ],
        );
        let events = steps(
            &mut engine,
            &[step(K::GrantAdmin, OPERATOR, &name("alice"), None)],
        );
        let role: UserRole = events[0].body();
        assert_eq!((role.user_id, role.admin), (ALICE, 1));
        assert!(engine.accounts().user(ALICE).admin);
        let everywhere = market(crate::message::ALL_MARKETS);
        steps(
            &mut engine,
            &[
                step(K::GrantAdmin, ALICE, &UserRef::by_id(BOB), None),
                step(K::GrantAdmin, ALICE, &name("carol"), Some(R::UserNotFound)),
                step(
                    K::RevokeAdmin,
                    ALICE,
                    &UserRef::by_id(99),
                    Some(R::UserNotFound),
                ),
                step(
                    K::GrantAdmin,
                    ALICE,
                    &UserRef::by_id(BOB),
                    Some(R::RoleUnchanged),
                ),
                step(K::RevokeAdmin, BOB, &UserRef::by_id(BOB), None),
                step(
                    K::RevokeAdmin,
                    ALICE,
                    &UserRef::by_id(BOB),
                    Some(R::RoleUnchanged),
                ),
                step(K::HaltMarket, BOB, &btc, Some(R::AdminOnly)),
                step(K::HaltMarket, ALICE, &market(7), Some(R::UnknownMarket)),
                step(K::HaltMarket, ALICE, &everywhere, Some(R::UnknownMarket)),
                step(K::ResumeMarket, ALICE, &btc, Some(R::MarketNotHalted)),
                step(K::HaltMarket, ALICE, &btc, None),
                step(K::HaltMarket, OPERATOR, &btc, Some(R::MarketHalted)),
                step(K::ResumeMarket, OPERATOR, &btc, None),
            ],
        );
        assert!(!engine.is_halted(BTC_USD));
    }

    #[test]
    fn a_halted_market_refuses_orders_and_new_prices_but_cancels_and_lower_quantities_work() {
        let (mut engine, _, _) = two_users();
        let resting = run(
            &mut engine,
            K::PlaceOrder,
            ALICE,
            &limit_order(Side::Buy, 100, 10),
        );
        let order_id = resting
            .iter()
            .find(|e| e.head.kind == EventKind::OrderUpdate as u8)
            .map(|e| e.body::<OrderUpdate>().order_id)
            .unwrap();
        let new_price = AmendOrder {
            market: BTC_USD,
            reserved: 0,
            order_id,
            new_price: 101,
            new_quantity: 0,
        };
        let smaller = AmendOrder {
            new_price: 0,
            new_quantity: 5,
            ..new_price
        };
        let cancel = OrderAddress {
            market: BTC_USD,
            order_id,
            ..Default::default()
        };
        let eth = PlaceOrder {
            market: ETH_USD,
            ..limit_order(Side::Buy, 100, 10)
        };
        let sell = limit_order(Side::Sell, 100, 5);
        steps(
            &mut engine,
            &[
                step(K::PlaceOrder, ALICE, &limit_order(Side::Buy, 99, 10), None),
                step(K::HaltMarket, OPERATOR, &market(BTC_USD), None),
                step(K::PlaceOrder, BOB, &sell, Some(R::MarketHalted)),
                step(K::AmendOrder, ALICE, &new_price, Some(R::MarketHalted)),
                step(K::AmendOrder, ALICE, &smaller, None),
                step(K::CancelOrder, ALICE, &cancel, None),
                step(K::CancelAll, ALICE, &market(BTC_USD), None),
                // Other markets trade on.
                step(K::PlaceOrder, BOB, &eth, None),
                step(K::ResumeMarket, OPERATOR, &market(BTC_USD), None),
                step(K::PlaceOrder, BOB, &sell, None),
            ],
        );
        assert_eq!(engine.open_order_count(), 2, "bob's ETH bid and BTC ask");
    }

    #[test]
    fn admins_move_other_users_balances_and_others_may_not() {
        let (mut engine, _, _) = two_users();
        let for_bob = Transfer {
            asset: USD,
            amount: 500,
            account: BOB,
            ..Default::default()
        };
        let admin_only = Transfer {
            account: 0,
            flags: FLAG_ADMIN_ONLY,
            ..for_bob
        };
        let nobody = Transfer {
            account: 42,
            ..for_bob
        };
        let own = Transfer {
            account: 0,
            ..for_bob
        };
        let before = engine.accounts().holding(BOB, USD).available;
        steps(
            &mut engine,
            &[
                step(K::Deposit, ALICE, &for_bob, Some(R::AdminOnly)),
                step(K::Withdraw, ALICE, &for_bob, Some(R::AdminOnly)),
                step(K::Deposit, ALICE, &admin_only, Some(R::AdminOnly)),
                step(K::GrantAdmin, OPERATOR, &name("alice"), None),
            ],
        );
        let events = steps(&mut engine, &[step(K::Deposit, ALICE, &for_bob, None)]);
        assert_eq!(events[0].head.user_id, BOB, "the balance event is bob's");
        assert_eq!(engine.accounts().holding(BOB, USD).available, before + 500);
        steps(
            &mut engine,
            &[
                step(K::Withdraw, OPERATOR, &for_bob, None),
                step(K::Deposit, ALICE, &admin_only, None),
                step(K::Deposit, ALICE, &nobody, Some(R::UserNotFound)),
                // The operator has no balance of its own: it names the account.
                step(K::Deposit, OPERATOR, &own, Some(R::UnknownUser)),
            ],
        );
        assert_eq!(engine.accounts().holding(BOB, USD).available, before);
    }

    #[test]
    fn roles_and_halts_survive_a_snapshot() {
        let (mut engine, _, _) = two_users();
        steps(
            &mut engine,
            &[
                step(K::GrantAdmin, OPERATOR, &name("bob"), None),
                step(K::HaltMarket, OPERATOR, &market(ETH_USD), None),
            ],
        );
        let mut bytes = Vec::new();
        engine.write_snapshot(&mut bytes).unwrap();
        let capacity = crate::test_fixture::small_capacity();
        let read = Engine::read_snapshot(&mut bytes.as_slice(), engine.table().clone(), &capacity)
            .unwrap();
        assert_eq!(read.state_hash(), engine.state_hash());
        assert!(read.is_halted(ETH_USD) && !read.is_halted(BTC_USD));
        assert!(read.accounts().user(BOB).admin && !read.accounts().user(ALICE).admin);
    }
}
