#[corio::main(cores = 2)]
async fn main() -> u32 {
    1
}
