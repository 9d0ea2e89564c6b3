//! Runs the end-to-end benchmark outside the CLI:
//! `cargo run -p pinwheel-benches --example e2e -- --binary target/release/pinwheel`.

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: pinwheel_benches::e2e::Args,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let figures = pinwheel_benches::e2e::run(&cli.args)?;
    println!("{figures}");
    Ok(())
}
