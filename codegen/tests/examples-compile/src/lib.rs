//! The generated module of every AsyncAPI example document (3.1 and 2.6, the multi-file
//! social-media documents included) and of every codegen fixture, each in a module of
//! its own, compiled as they are. `build.rs` runs the generator; `tests/` exercises the
//! result.

include!(concat!(env!("OUT_DIR"), "/specs.rs"));
