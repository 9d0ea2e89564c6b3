//! The trades table in QuestDB and the shipping cursor read back from it.
//!
//! Designated timestamp = the engine's trade time (ns). Prices and quantities are LONG ticks
//! and lots, never doubles. `DEDUP UPSERT KEYS(ts, symbol, trade_id)` makes a re-sent batch
//! (after a crash, a timeout whose request did land, a journal catch-up) a no-op.

use pinwheel_candles::error::{check_table, Result};
use pinwheel_candles::questdb_http::{cell_i64, QuestDbHttp};

/// The `CREATE TABLE` statement for `table`.
pub fn create_table_sql(table: &str) -> Result<String> {
    check_table(table)?;
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {table} (\
         ts TIMESTAMP_NS, symbol SYMBOL, side SYMBOL, trade_id LONG, sequence LONG, \
         price LONG, quantity LONG, maker_order_id LONG, taker_order_id LONG\
         ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, symbol, trade_id)"
    ))
}

/// Creates the table if it is missing.
pub fn ensure_table(http: &QuestDbHttp, table: &str) -> Result<()> {
    http.exec(&create_table_sql(table)?)?;
    Ok(())
}

/// How far shipping got: the highest trade id and sequence in the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Highest shipped trade id (0 = nothing shipped).
    pub trade_id: u64,
    /// Sequence of the command that made that trade.
    pub sequence: u64,
}

/// Reads the cursor back. A batch acknowledged but not yet applied from the WAL may be
/// missing here; it is then shipped again and deduplicated.
pub fn read_cursor(http: &QuestDbHttp, table: &str) -> Result<Cursor> {
    check_table(table)?;
    let answer = http.exec(&format!("SELECT max(trade_id), max(sequence) FROM {table}"))?;
    let Some(row) = answer.dataset.first() else {
        return Ok(Cursor::default());
    };
    let unsigned = |value: Option<i64>| value.map_or(0, |n| n.max(0) as u64);
    Ok(Cursor {
        trade_id: unsigned(cell_i64(row, 0)?),
        sequence: unsigned(cell_i64(row, 1)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_has_wal_dedup_and_day_partitions() {
        let sql = create_table_sql("trades").unwrap();
        for part in [
            "TIMESTAMP(ts)",
            "PARTITION BY DAY WAL",
            "DEDUP UPSERT KEYS(ts, symbol, trade_id)",
            "symbol SYMBOL",
            "side SYMBOL",
            "price LONG",
        ] {
            assert!(sql.contains(part), "{part} missing in {sql}");
        }
        assert!(create_table_sql("x; DROP TABLE y").is_err());
    }
}
