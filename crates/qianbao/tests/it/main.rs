//! Journeys through the facade, end to end, on SQLite and (when configured) PostgreSQL: one binary, one
//! submodule per journey.

mod account;
mod certificates;
mod config;
mod kyc;
mod login;
mod money;
mod notices;
mod ops;
mod payment_password;
mod policy;
mod races;
mod records;
mod restart;
mod security;
mod simulation;
mod support;
mod tokens;
