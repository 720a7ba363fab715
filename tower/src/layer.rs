//! [`SessionLayer`]: Django's `SessionMiddleware` as a tower layer.

use crate::config::SessionConfig;
use crate::cookie;
use crate::session::Session;
use http::{Request, Response, StatusCode};
use sessionbox::{Error as StoreError, Store};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Gives every request a [`Session`] and finishes the response as Django's
/// `SessionMiddleware` does (see the [crate] docs).
#[derive(Clone, Debug)]
pub struct SessionLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    config: SessionConfig,
}

impl SessionLayer {
    /// Sessions in `store`, with Django's default cookie settings
    /// ([`SessionConfig::for_store`]).
    pub fn new(store: Store) -> SessionLayer {
        let config = SessionConfig::for_store(&store);
        SessionLayer::with_config(store, config)
    }

    /// Sessions in `store`, with the cookie sent as `config` says.
    pub fn with_config(store: Store, config: SessionConfig) -> SessionLayer {
        SessionLayer { shared: Arc::new(Shared { store, config }) }
    }

    /// The cookie settings in use.
    pub fn config(&self) -> &SessionConfig {
        &self.shared.config
    }
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService { inner, shared: self.shared.clone() }
    }
}

/// The service [`SessionLayer`] wraps around the app.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for SessionService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let shared = self.shared.clone();
        let cookie = cookie::request_cookie(req.headers(), &shared.config.cookie_name, shared.store.is_signed_cookies());
        let session = Session::new(&shared.store, cookie.key.as_deref());
        req.extensions_mut().insert(session.clone());
        // The clone that was polled ready serves this request; the fresh
        // clone waits for the next one (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let response = inner.call(req);
        Box::pin(async move {
            let mut response = response.await?;
            finish(&shared.config, &session, &cookie, &mut response);
            Ok(response)
        })
    }
}

/// Django's `SessionMiddleware.process_response`.
fn finish<B: Default>(config: &SessionConfig, session: &Session, cookie: &cookie::RequestCookie, response: &mut Response<B>) {
    let mut session = session.lock();
    // Django's `is_empty` counts a cookie value of 8 characters or more as a
    // key until a load finds it names nothing: so a page that never touched
    // the session does not delete a cookie it cannot read.
    let key_still_held = cookie.unusable_key && !session.accessed();
    let empty = session.is_empty() && !key_still_held;
    if cookie.present && empty {
        cookie::delete(response.headers_mut(), config);
        cookie::vary_on_cookie(response.headers_mut());
        return;
    }
    if session.accessed() {
        cookie::vary_on_cookie(response.headers_mut());
    }
    if !(session.modified() || config.save_every_request) || empty || response.status().is_server_error() {
        return;
    }
    let lifetime = match session.expire_at_browser_close_or(config.expire_at_browser_close) {
        Ok(true) => None,
        Ok(false) => match session.expiry_age() {
            Ok(age) => Some(age),
            Err(e) => return fail(response, e),
        },
        Err(e) => return fail(response, e),
    };
    // Saved every request but changed by none: its life is extended
    // without rewriting it (a Redis TTL, a row's expire_date, a file's
    // mtime). A session gone meanwhile falls to the save, which says so.
    let touched = match !session.modified() && session.key().is_some() {
        true => match session.touch() {
            Ok(touched) => touched,
            Err(e) => return fail(response, e),
        },
        false => false,
    };
    if !touched {
        if let Err(e) = session.save(false) {
            return fail(response, e);
        }
    }
    match session.key() {
        // A signed cookie past what browsers keep would be dropped by the
        // browser without a word, and with it the session: an error here
        // instead, which names the size.
        Some(key) if config.cookie_name.len() + 1 + key.len() > cookie::MAX_COOKIE_BYTES => {
            log::error!(
                target: "sessionbox",
                "the session as a signed cookie is {} bytes, over the {} a browser keeps: keep less in it, or keep sessions on the server",
                config.cookie_name.len() + 1 + key.len(),
                cookie::MAX_COOKIE_BYTES
            );
            let mut replacement = Response::new(B::default());
            *replacement.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            *response = replacement;
            return;
        }
        Some(key) => cookie::set(response.headers_mut(), config, key, lifetime),
        None => log::error!(target: "sessionbox", "the saved session has no key"),
    }
    // With a session cookie set, it must be varied on (Django sets
    // `need_vary_cookie` here too): under `save_every_request` a page that
    // never touched the session still sends the cookie.
    cookie::vary_on_cookie(response.headers_mut());
}

/// Replaces the response after a failed save: `400` when the session was
/// deleted meanwhile (Django's `SessionInterrupted`), else `500`.
fn fail<B: Default>(response: &mut Response<B>, e: StoreError) {
    let status = match e {
        StoreError::NotFound => {
            log::warn!(target: "sessionbox", "the request's session was deleted before the request completed (a logout in a concurrent request?); answering 400");
            StatusCode::BAD_REQUEST
        }
        e => {
            log::error!(target: "sessionbox", "saving the session failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    let mut replacement = Response::new(B::default());
    *replacement.status_mut() = status;
    *response = replacement;
}
