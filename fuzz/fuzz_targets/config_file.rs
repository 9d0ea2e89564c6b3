//! Configuration files as `pinwheel` loads them: the binary's own loader (`Config::load`, the
//! file `src/config.rs` compiled in here as is), which parses the TOML and validates every
//! value, and the edge's `[edge]` section alone. Checks: no panic; a refusal says what is
//! wrong; an accepted file written back as TOML loads again as the same configuration.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/config.rs"]
mod config;

use libfuzzer_sys::fuzz_target;
use pinwheel_fuzz::scratch;

use config::{CommonArgs, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = scratch::fresh("config").join("pinwheel.toml");
    std::fs::write(&path, text).expect("scratch write");
    let loaded = Config::load(&CommonArgs {
        config: Some(path.clone()),
        ..Default::default()
    });
    match loaded {
        Ok(config) => {
            let written = toml::to_string(&config).expect("a loaded config serialises");
            std::fs::write(&path, &written).expect("scratch write");
            let again = Config::load(&CommonArgs {
                config: Some(path),
                ..Default::default()
            })
            .unwrap_or_else(|error| panic!("{written}\ndoes not load again: {error:#}"));
            assert_eq!(toml::to_string(&again).expect("serialises"), written);
        }
        Err(error) => assert!(!format!("{error:#}").trim().is_empty()),
    }
    if let Err(error) = toml::from_str::<pinwheel_edge::EdgeConfig>(text) {
        assert!(!error.to_string().trim().is_empty());
    }
});
