//! An empty environment, as a component: plugged into a handler in a
//! composition (`wac plug HANDLER --plug no_environment.wasm --plug
//! sessionbox_guest.wasm`), it keeps the handler from reading the
//! environment the runtime gives the composition, which holds the session
//! store's secret (`SESSIONBOX_SECRET_KEY`). Only the sessionbox component
//! still imports the real one.

wit_bindgen::generate!({ path: "wit", world: "no-environment" });

struct NoEnvironment;
export!(NoEnvironment);

impl exports::wasi::cli::environment::Guest for NoEnvironment {
    fn get_environment() -> Vec<(String, String)> {
        Vec::new()
    }

    fn get_arguments() -> Vec<String> {
        Vec::new()
    }

    fn initial_cwd() -> Option<String> {
        None
    }
}
