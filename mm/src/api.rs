//! The public REST API as the market maker uses it, and the market's decimal <-> integer
//! conversions (rust_decimal for the text; ticks and lots inside).

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use reqwest::{Method, StatusCode};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

use super::ladder::{Quote, Side};

/// Time bound of every request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A market as GET /markets describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketInfo {
    /// Symbol, e.g. `BTC-USD`.
    pub symbol: String,
    /// Base asset.
    pub base: String,
    /// Quote asset.
    pub quote: String,
    /// Price increment.
    pub tick: Decimal,
    /// Quantity increment.
    pub lot: Decimal,
    /// Smallest order quantity.
    pub min_quantity: Decimal,
}

fn decimal_field(value: &Value, field: &str) -> anyhow::Result<Decimal> {
    let raw = value
        .get(field)
        .ok_or_else(|| anyhow!("missing field {field}"))?;
    let text = match raw {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => bail!("{field} is not a decimal: {other}"),
    };
    text.parse::<Decimal>()
        .map_err(|_| anyhow!("{field} is not a decimal: {text:?}"))
}

fn string_field(value: &Value, field: &str) -> anyhow::Result<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("missing text field {field}"))
}

impl MarketInfo {
    /// Reads one entry of GET /markets.
    pub fn from_json(value: &Value) -> anyhow::Result<Self> {
        let info = Self {
            symbol: string_field(value, "symbol")?,
            base: string_field(value, "baseAsset")?,
            quote: string_field(value, "quoteAsset")?,
            tick: decimal_field(value, "tickSize")?,
            lot: decimal_field(value, "lotSize")?,
            min_quantity: decimal_field(value, "minQuantity")?,
        };
        if info.tick <= Decimal::ZERO || info.lot <= Decimal::ZERO {
            bail!(
                "market {}: tickSize and lotSize must be positive",
                info.symbol
            );
        }
        Ok(info)
    }

    /// A price rounded to the nearest tick.
    pub fn ticks(&self, price: Decimal) -> Option<i64> {
        (price / self.tick)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
            .to_i64()
    }

    /// A quantity in whole lots, rounded down.
    pub fn lots_floor(&self, quantity: Decimal) -> Option<i64> {
        (quantity / self.lot).floor().to_i64()
    }

    /// A quantity in whole lots, rounded up.
    pub fn lots_ceil(&self, quantity: Decimal) -> Option<i64> {
        (quantity / self.lot).ceil().to_i64()
    }

    /// Ticks as decimal text.
    pub fn price_text(&self, ticks: i64) -> String {
        (Decimal::from(ticks) * self.tick).normalize().to_string()
    }

    /// Lots as decimal text.
    pub fn quantity_text(&self, lots: i64) -> String {
        (Decimal::from(lots) * self.lot).normalize().to_string()
    }
}

/// An HTTP error answer: status and the API's `{code, message}`.
#[derive(Clone, Debug)]
pub struct HttpError {
    /// HTTP status.
    pub status: u16,
    /// The stable error code, e.g. `INSUFFICIENT_BALANCE`.
    pub code: String,
    /// The message.
    pub message: String,
    /// From a 429's Retry-After.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for HttpError {}

/// The HTTP status of an error, if it was an answer from the server.
pub fn status_of(error: &anyhow::Error) -> Option<u16> {
    error.downcast_ref::<HttpError>().map(|e| e.status)
}

/// How the bot proves who it is.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A JWT from sign-up or sign-in (`Authorization: Bearer`).
    Token(String),
    /// An API key (`X-API-Key`).
    ApiKey(String),
}

impl Credential {
    /// What the WebSocket AUTH message carries.
    pub fn text(&self) -> &str {
        match self {
            Credential::Token(text) | Credential::ApiKey(text) => text,
        }
    }
}

/// A REST client for one edge.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    /// The current credential (replaced on re-sign-in).
    pub credential: Option<Credential>,
}

/// An order as the API reports it, in integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderState {
    /// Order id.
    pub id: u64,
    /// Whether it still rests (NEW or PARTIALLY_FILLED).
    pub open: bool,
    /// Side, price, remaining quantity.
    pub quote: Quote,
}

impl OrderState {
    /// Reads an order object (answer of POST /order, an element of GET /order/open, or an
    /// `orders` stream message) for `market`.
    pub fn from_json(value: &Value, market: &MarketInfo) -> anyhow::Result<Self> {
        let id = match value.get("orderId") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| anyhow!("order without a numeric orderId: {value}"))?;
        let status = value.get("status").and_then(Value::as_str).unwrap_or("NEW");
        let side = value
            .get("side")
            .and_then(Value::as_str)
            .and_then(Side::parse)
            .ok_or_else(|| anyhow!("order {id} without a side"))?;
        let price = market
            .ticks(decimal_field(value, "price")?)
            .ok_or_else(|| anyhow!("order {id}: price out of range"))?;
        let remaining =
            decimal_field(value, "remainingQty").or_else(|_| decimal_field(value, "quantity"))?;
        let lots = market
            .lots_floor(remaining)
            .ok_or_else(|| anyhow!("order {id}: quantity out of range"))?;
        Ok(Self {
            id,
            open: matches!(status, "NEW" | "PARTIALLY_FILLED") && lots > 0,
            quote: Quote { side, price, lots },
        })
    }
}

impl Api {
    /// A client for the edge at `url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: url.trim_end_matches('/').to_string(),
            credential: None,
        })
    }

    /// The WebSocket URL of the same edge.
    pub fn ws_url(&self) -> String {
        let rest = self
            .base
            .strip_prefix("https://")
            .map(|r| format!("wss://{r}"))
            .or_else(|| {
                self.base
                    .strip_prefix("http://")
                    .map(|r| format!("ws://{r}"))
            })
            .unwrap_or_else(|| self.base.clone());
        format!("{rest}/ws")
    }

    /// Sends one request and returns the JSON answer, or an [`HttpError`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        request = match &self.credential {
            Some(Credential::Token(token)) => request.bearer_auth(token),
            Some(Credential::ApiKey(key)) => request.header("X-API-Key", key),
            None => request,
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .text()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{method} {path}: not JSON: {text}"))?
        };
        if status.is_success() {
            return Ok(json);
        }
        Err(HttpError {
            status: status.as_u16(),
            code: json
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            message: json
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or(&text)
                .to_string(),
            retry_after,
        }
        .into())
    }

    /// Signs up, or signs in if the user exists; keeps the token.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> anyhow::Result<()> {
        let body = json!({ "username": username, "password": password });
        self.credential = None;
        let answer = match self
            .call(Method::POST, "/api/v1/signup", Some(body.clone()))
            .await
        {
            Ok(answer) => answer,
            Err(error)
                if status_of(&error)
                    .is_some_and(|s| s == StatusCode::CONFLICT.as_u16() || s == 400) =>
            {
                self.call(Method::POST, "/api/v1/signin", Some(body))
                    .await
                    .context("sign-in")?
            }
            Err(error) => return Err(error.context("sign-up")),
        };
        let token = string_field(&answer, "token").context("sign-in answer")?;
        self.credential = Some(Credential::Token(token));
        Ok(())
    }

    /// GET /markets.
    pub async fn markets(&self) -> anyhow::Result<Vec<MarketInfo>> {
        let answer = self.call(Method::GET, "/api/v1/markets", None).await?;
        let list = answer
            .as_array()
            .ok_or_else(|| anyhow!("/markets is not an array"))?;
        list.iter().map(MarketInfo::from_json).collect()
    }

    /// GET /balances as asset -> (available, locked).
    pub async fn balances(&self) -> anyhow::Result<Vec<(String, Decimal, Decimal)>> {
        let answer = self.call(Method::GET, "/api/v1/balances", None).await?;
        let list = answer
            .as_array()
            .ok_or_else(|| anyhow!("/balances is not an array"))?;
        list.iter()
            .map(|b| {
                Ok((
                    string_field(b, "asset")?,
                    decimal_field(b, "available")?,
                    decimal_field(b, "locked")?,
                ))
            })
            .collect()
    }

    /// POST /on-ramp.
    pub async fn deposit(&self, asset: &str, amount: Decimal) -> anyhow::Result<()> {
        let body = json!({ "asset": asset, "amount": amount.normalize().to_string() });
        self.call(Method::POST, "/api/v1/on-ramp", Some(body))
            .await?;
        Ok(())
    }

    /// GET /order/open for one market.
    pub async fn open_orders(&self, market: &MarketInfo) -> anyhow::Result<Vec<OrderState>> {
        let path = format!("/api/v1/order/open?market={}", market.symbol);
        let answer = self.call(Method::GET, &path, None).await?;
        let list = answer
            .as_array()
            .ok_or_else(|| anyhow!("/order/open is not an array"))?;
        list.iter()
            .filter(|o| {
                o.get("market")
                    .and_then(Value::as_str)
                    .is_none_or(|m| m == market.symbol)
            })
            .map(|o| OrderState::from_json(o, market))
            .collect()
    }

    /// POST /order: a post-only GTC limit order.
    pub async fn place(&self, market: &MarketInfo, quote: &Quote) -> anyhow::Result<OrderState> {
        let body = json!({
            "market": market.symbol,
            "side": quote.side.as_str(),
            "type": "limit",
            "price": market.price_text(quote.price),
            "quantity": market.quantity_text(quote.lots),
            "timeInForce": "GTC",
            "postOnly": true,
        });
        let answer = self.call(Method::POST, "/api/v1/order", Some(body)).await?;
        OrderState::from_json(&answer, market)
    }

    /// PATCH /order/{id}: moves a resting order to `price` (ticks) in one engine command, so
    /// its side of the book is never without it.
    pub async fn amend(
        &self,
        market: &MarketInfo,
        id: u64,
        price: i64,
    ) -> anyhow::Result<OrderState> {
        let body = json!({ "market": market.symbol, "price": market.price_text(price) });
        let path = format!("/api/v1/order/{id}");
        let answer = self.call(Method::PATCH, &path, Some(body)).await?;
        OrderState::from_json(&answer, market)
    }

    /// The level quantities, in lots and best first, of one side of a market's book
    /// (GET /depth).
    pub async fn depth_lots(&self, market: &MarketInfo, side: Side) -> anyhow::Result<Vec<i64>> {
        let path = format!("/api/v1/depth?symbol={}&limit=100", market.symbol);
        let depth = self.call(Method::GET, &path, None).await?;
        let name = match side {
            Side::Buy => "bids",
            Side::Sell => "asks",
        };
        let levels = depth
            .get(name)
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("/depth without {name}"))?;
        levels
            .iter()
            .map(|level| {
                let quantity = level
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(|text| text.parse::<Decimal>().ok())
                    .ok_or_else(|| anyhow!("/depth level {level} has no quantity"))?;
                market
                    .lots_floor(quantity)
                    .ok_or_else(|| anyhow!("/depth quantity {quantity} out of range"))
            })
            .collect()
    }

    /// DELETE /order/{id}. An order that is already gone (404) counts as canceled.
    pub async fn cancel(&self, market: &MarketInfo, id: u64) -> anyhow::Result<()> {
        let path = format!("/api/v1/order/{id}?market={}", market.symbol);
        match self.call(Method::DELETE, &path, None).await {
            Ok(_) => Ok(()),
            Err(error) if status_of(&error) == Some(404) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// DELETE /orders?market=.
    pub async fn cancel_all(&self, market: &MarketInfo) -> anyhow::Result<()> {
        let path = format!("/api/v1/orders?market={}", market.symbol);
        self.call(Method::DELETE, &path, None).await.map(|_| ())
    }

    /// The mid price from GET /depth, if both sides have a level.
    pub async fn mid_price(&self, market: &MarketInfo) -> anyhow::Result<Option<Decimal>> {
        let path = format!("/api/v1/depth?symbol={}&limit=1", market.symbol);
        let depth = self.call(Method::GET, &path, None).await?;
        let best = |side: &str| -> Option<Decimal> {
            let level = depth
                .get(side)?
                .as_array()?
                .first()?
                .as_array()?
                .first()?
                .clone();
            match level {
                Value::String(text) => text.parse().ok(),
                Value::Number(number) => number.to_string().parse().ok(),
                _ => None,
            }
        };
        Ok(match (best("bids"), best("asks")) {
            (Some(bid), Some(ask)) if bid < ask => Some((bid + ask) / Decimal::TWO),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> MarketInfo {
        MarketInfo::from_json(
            &json!({"symbol": "BTC-USD", "baseAsset": "BTC", "quoteAsset": "USD",
            "tickSize": "0.01", "lotSize": "0.00001", "minQuantity": "0.0001",
            "makerFeeBps": 10, "takerFeeBps": 20}),
        )
        .unwrap()
    }

    #[test]
    fn decimals_convert_to_ticks_and_lots_and_back() {
        let market = btc();
        assert_eq!(market.ticks("60000.005".parse().unwrap()), Some(6_000_000));
        assert_eq!(market.ticks("60000.015".parse().unwrap()), Some(6_000_002));
        assert_eq!(market.lots_floor("0.000019".parse().unwrap()), Some(1));
        assert_eq!(market.lots_ceil("0.000011".parse().unwrap()), Some(2));
        assert_eq!(market.price_text(6_000_001), "60000.01");
        assert_eq!(market.price_text(6_000_000), "60000");
        assert_eq!(market.quantity_text(12), "0.00012");
    }

    #[test]
    fn markets_with_bad_units_are_refused() {
        let bad = json!({"symbol": "X-Y", "baseAsset": "X", "quoteAsset": "Y",
            "tickSize": "0", "lotSize": "1", "minQuantity": "1"});
        assert!(MarketInfo::from_json(&bad).is_err());
        let text = json!({"symbol": "X-Y", "baseAsset": "X", "quoteAsset": "Y",
            "tickSize": "abc", "lotSize": "1", "minQuantity": "1"});
        let error = MarketInfo::from_json(&text).unwrap_err().to_string();
        assert!(error.contains("tickSize"), "{error}");
    }

    #[test]
    fn order_answers_parse_into_integers() {
        let market = btc();
        let order = OrderState::from_json(
            &json!({"orderId": 42, "side": "sell", "price": "60000.01",
            "quantity": "0.001", "remainingQty": "0.0004", "status": "PARTIALLY_FILLED"}),
            &market,
        )
        .unwrap();
        assert_eq!(
            order,
            OrderState {
                id: 42,
                open: true,
                quote: Quote {
                    side: Side::Sell,
                    price: 6_000_001,
                    lots: 40
                }
            }
        );
        let done = OrderState::from_json(
            &json!({"orderId": "7", "side": "buy", "price": 1,
            "remainingQty": "0", "status": "FILLED"}),
            &market,
        )
        .unwrap();
        assert!(!done.open);
        assert!(OrderState::from_json(&json!({"side": "buy"}), &market).is_err());
    }

    #[test]
    fn websocket_url_follows_the_scheme() {
        assert_eq!(
            Api::new("http://127.0.0.1:8080/").unwrap().ws_url(),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(
            Api::new("https://x.test").unwrap().ws_url(),
            "wss://x.test/ws"
        );
    }
}
