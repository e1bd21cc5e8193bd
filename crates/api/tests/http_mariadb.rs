//! The whole HTTP suite (`http.rs`) again, with the API on MariaDB through the MySQL store.
//! Skips, saying so, when `UNISHOP_TEST_MARIADB` is not set (`cargo xtask test` always sets it).

#[path = "http.rs"]
mod suite;
