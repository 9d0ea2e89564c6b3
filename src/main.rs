//! `pinwheel`: one binary, one subcommand per role.

fn main() {
    println!("pinwheel {}", env!("CARGO_PKG_VERSION"));
}
