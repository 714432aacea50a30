//! The derive works wherever a user may write a struct: generic and
//! lifetime-carrying structs, `#![no_implicit_prelude]` modules, modules with
//! their own `String`, `Option` and `Result`, and behind a re-exporting crate.

use pulse_binding::prelude::*;

#[derive(PulseBinding)]
#[exchange = "exchange/test/v1/generic"]
struct Generic<T> {
    #[mwords("*")]
    id: Option<T>,
    #[mwords("#")]
    rest: Option<String>,
}

#[test]
fn a_generic_struct_writes_and_reads_its_parameter() {
    let b = Generic::<u64> {
        id: Some(7),
        rest: None,
    };
    assert_eq!(b.routing_key(), "7.#");
    let back = Generic::<u64>::from_routing_key("9.a.b").unwrap();
    assert_eq!(back.id, Some(9));
    assert_eq!(back.rest.as_deref(), Some("a.b"));
    assert!(Generic::<u64>::from_routing_key("x").is_err());
}

#[derive(PulseBinding)]
#[exchange = "exchange/test/v1/borrowed"]
struct Borrowed<'a> {
    #[mwords("*")]
    task_id: &'a str,
    #[mwords("*")]
    run_id: Option<&'a str>,
}

#[test]
fn borrowed_words_write_a_pattern() {
    let id = String::from("abc");
    let b = Borrowed {
        task_id: &id,
        run_id: None,
    };
    assert_eq!(b.routing_key(), "abc.*");
    assert!(b.matches("abc.0"));
    let empty = Borrowed {
        task_id: "",
        run_id: Some(""),
    };
    assert_eq!(
        empty.routing_key(),
        "*.*",
        "an empty string is unset, as in Go"
    );
}

mod no_prelude {
    #![no_implicit_prelude]

    #[derive(::pulse_binding::PulseBinding, ::core::default::Default)]
    #[exchange = "exchange/test/v1/no-prelude"]
    #[payload(::std::vec::Vec<u32>)]
    pub struct NoPrelude<T: ::core::default::Default> {
        #[mwords(constant = "primary")]
        pub kind: ::std::option::Option<::std::string::String>,
        #[mwords("*")]
        pub id: ::std::option::Option<u32>,
        pub other: T,
    }
}

mod shadowed {
    #![allow(dead_code)]
    pub struct String;
    pub enum Option<T> {
        Some(T),
        None,
    }
    pub type Result<T> = core::result::Result<T, ()>;
    pub trait Default {}

    #[derive(pulse_binding::PulseBinding, Debug)]
    #[exchange = "exchange/test/v1/shadowed"]
    pub struct Shadowed {
        #[mwords("*")]
        pub id: std::string::String,
        pub other: std::option::Option<u8>,
    }
}

#[test]
fn generated_code_does_not_use_the_callers_names() {
    use pulse_binding::{FromRoutingKey, PulseBinding};
    let b = no_prelude::NoPrelude::<u8>::default();
    assert_eq!(b.routing_key(), "primary.*");
    assert_eq!(b.other, 0);
    assert_eq!(b.decode(b"[1, 2]").unwrap(), vec![1, 2]);
    let s = shadowed::Shadowed::from_routing_key("x").unwrap();
    assert_eq!(s.id, "x");
    assert_eq!(s.routing_key(), "x");
}

mod reexport {
    /// A crate that re-exports pulse-binding under another path.
    pub mod facade {
        pub use pulse_binding as pb;
    }

    #[derive(facade::pb::PulseBinding, Default)]
    #[pulse_binding(crate = "facade::pb")]
    #[exchange = "exchange/test/v1/facade"]
    pub struct ThroughFacade {
        #[mwords("#")]
        pub rest: Option<String>,
    }
}

#[test]
fn the_crate_path_can_be_overridden() {
    assert_eq!(reexport::ThroughFacade::default().routing_key(), "#");
}
