//! Replication between the two regions' stores of the local stack, standing in for what AWS
//! replicates: [`global_tables`] for DynamoDB global tables (carts and orders).

pub mod global_tables;
