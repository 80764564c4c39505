// `sqlx::migrate!` embeds the migration files at compile time; without this,
// an incremental build would not notice a new or changed migration.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
