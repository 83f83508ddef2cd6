#[corio::main(entries = "many")]
async fn main() {}
