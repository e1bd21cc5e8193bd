// Talc in place of Rust's default wasm allocator (dlmalloc): as fast for this page, and a few KB
// smaller in the download.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn main() {
    unishop::crash::report_crashes();
    unishop::start();
}
