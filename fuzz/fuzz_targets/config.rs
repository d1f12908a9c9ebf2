//! Config parsing of one variable: any value of any listed variable parses or is refused with an
//! error naming it (or naming the variable it needs, which names it in turn), never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use streambot::config::{Config, VARIABLES};

fuzz_target!(|input: (u8, &str)| {
    let (which, value) = input;
    let var = &VARIABLES[usize::from(which) % VARIABLES.len()];
    let lookup = |name: &str| match name {
        "BOT_TOKEN" if var.name != "BOT_TOKEN" => Some("123456:fuzz".to_owned()),
        n if n == var.name => Some(value.to_owned()),
        _ => None,
    };
    if let Err(e) = Config::from_lookup(lookup) {
        let names_it = e.variable == var.name || e.to_string().contains(var.name);
        assert!(names_it, "the error names the variable that was set: {e}");
    }
});
