//! The whole HTTP suite (`http.rs`) again, with the API configured as in production: catalogue
//! and users on MariaDB (the MySQL store), carts and orders in DynamoDB (moto_server), fresh
//! tables per test. Skips, saying so, when `UNISHOP_TEST_MARIADB` or `UNISHOP_TEST_MOTO_URL` is
//! not set (`cargo xtask test` sets both).

#[path = "http.rs"]
mod suite;
