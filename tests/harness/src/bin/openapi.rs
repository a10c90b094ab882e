//! Prints the OpenAPI document the routers describe:
//! `cargo run -p rmmsync-tests --bin openapi > docs/openapi.json`.
//! (`tests/openapi.rs` fails when the committed file differs.)

use std::io::Write;

fn main() {
    std::io::stdout()
        .write_all(rmmsync_tests::local_api::openapi_json().as_bytes())
        .expect("write the document to stdout");
}
