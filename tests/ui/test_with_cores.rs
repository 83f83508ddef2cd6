#[corio::test(cores = 2)]
async fn on_cores() {}

fn main() {}
