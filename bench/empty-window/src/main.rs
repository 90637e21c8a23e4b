//! The smallest Tauri 2 app: one window showing one static page. The desktop
//! benchmark starts it beside Lighttouch to measure what the app itself adds.
fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the empty window failed to start");
}
