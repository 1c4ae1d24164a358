//! What the client's integration tests share: a sign-in that reads everything from one `Env`.

use azq_client::credential::CredentialKind;
use azq_client::{Endpoints, Env, Http, SignIn};

/// A sign-in of `kind` whose endpoints and HTTP client come from `env`.
pub fn sign_in(env: Env, kind: CredentialKind) -> SignIn {
    SignIn {
        kind,
        tenant: None,
        refresh: false,
        endpoints: Endpoints::from_env(&env).unwrap(),
        http: Http::new(&env).unwrap(),
        env,
    }
}
