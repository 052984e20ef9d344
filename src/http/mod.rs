//! The thin web layer: extract and validate the wire format, call one capability, render.

pub mod account;
pub mod account_forms;
pub mod account_providers;
pub mod admin;
pub mod admin_audit;
pub mod admin_keys;
pub mod admin_registration;
pub mod admin_sessions;
pub mod admin_users;
pub mod assets;
pub mod authorize;
pub mod bounds;
pub mod console;
pub mod console_audit;
pub mod console_clients;
pub mod console_user_actions;
pub mod console_users;
pub mod cookies;
pub mod cors;
pub mod docs;
pub mod error;
pub mod extract;
pub mod federation;
pub mod health;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod observe;
pub mod oidc;
pub mod problem;
pub mod recovery;
pub mod register;
pub mod registration;
pub mod reply;
pub mod revocation;
pub mod second_factor;
pub mod token;
pub mod userinfo;
pub mod views;
pub mod wire;

use actix_web::web;

/// Mounts every area's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    oidc::configure(cfg);
    assets::configure(cfg);
    authorize::configure(cfg);
    login::configure(cfg);
    federation::configure(cfg);
    account_providers::configure(cfg);
    second_factor::configure(cfg);
    logout::configure(cfg);
    account::configure(cfg);
    register::configure(cfg);
    registration::configure(cfg);
    recovery::configure(cfg);
    account_forms::configure(cfg);
    mfa::configure(cfg);
    token::configure(cfg);
    console::configure(cfg);
    admin::configure(cfg);
    docs::configure(cfg);
    userinfo::configure(cfg);
    revocation::configure(cfg);
}
