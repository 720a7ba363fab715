//! One login for three apps on ONE session directory, proven in headless
//! Chromium: the Django site (`tests/interop/django_site`, Django's file
//! engine), the demo axum app (`examples/demo`, `sessionbox_tower`) and the
//! express example (`js/examples/app.mjs`, express-session on
//! `sessionbox-express`). All three use the `sessionid` cookie on 127.0.0.1
//! (cookies ignore the port) and one secret. A login on any of them is seen
//! by the other two; a logout on any ends it on all.

use crate::node_store::ExpressApp;
use crate::support::web::{Browser, DemoApp, DjangoServer, DJANGO_PASSWORD, DJANGO_USER};
use serde_json::{json, Value};
use sessionbox::{Options, Settings};
use sessionbox_demo::{DemoUser, Sessions};

const SECRET: &str = "shared-login-node-secret-7d21c9";

/// The three apps, which one a step runs on.
#[derive(Clone, Copy, Debug)]
enum Side {
    Django,
    Demo,
    Express,
}

const SIDES: [Side; 3] = [Side::Django, Side::Demo, Side::Express];

struct Three {
    sessions: std::path::PathBuf,
    django: DjangoServer,
    demo: DemoApp,
    express: ExpressApp,
    browser: Browser,
    _tmp: tempfile::TempDir,
}

fn start() -> Three {
    let tmp = tempfile::tempdir().unwrap();
    let sessions = tmp.path().join("sessions");
    let django = DjangoServer::start(&sessions, SECRET, &[]);
    // alice as Django's database has her: id and password hash.
    let info = django.user_info(DJANGO_USER);
    let id = info["id"].as_str().unwrap().to_owned();
    let hash = info["password"].as_str().unwrap().to_owned();
    let alice = DemoUser { id: id.clone(), username: DJANGO_USER.to_owned(), password_hash: hash.clone() };
    let (store, _) = sessionbox_demo::open_store(&Sessions::Dir(sessions.clone()), Settings::new(SECRET), Options::default()).unwrap();
    let demo = DemoApp::start(store, vec![alice]);
    let users = json!([{"id": id, "username": DJANGO_USER, "password_hash": hash}]);
    let express = ExpressApp::start(&sessions, SECRET, &users, &[]);
    let browser = Browser::start();
    Three { sessions, django, demo, express, browser, _tmp: tmp }
}

impl Three {
    fn url(&self, side: Side, path: &str) -> String {
        match side {
            Side::Django => self.django.url(&format!("/django{path}/")),
            Side::Demo => self.demo.url(path),
            Side::Express => self.express.url(path),
        }
    }

    /// Logs alice in on `side` through its login form; returns the key.
    fn login(&self, side: Side) -> String {
        let b = &self.browser;
        b.goto(&self.url(side, "/login"));
        b.submit_form(&[("username", DJANGO_USER), ("password", DJANGO_PASSWORD)], "submit");
        assert_eq!(b.text("user"), DJANGO_USER, "{side:?}'s page after its login");
        b.cookie("sessionid").unwrap_or_else(|| panic!("a sessionid cookie after {side:?}'s login")).value
    }

    /// Logs out on `side`: Django's logout page, the demo's and express's
    /// POST forms.
    fn logout(&self, side: Side) {
        let b = &self.browser;
        match side {
            Side::Django => b.goto(&self.url(side, "/logout")),
            Side::Demo | Side::Express => {
                b.goto(&self.url(side, "/logout"));
                b.click_and_wait("logout");
            }
        }
        assert_eq!(b.text("user"), "anonymous", "{side:?}'s page after its logout");
    }

    /// Who `side` says is logged in, and the session data it shows (`{}`
    /// on Django's whoami when anonymous).
    fn user_on(&self, side: Side) -> (String, Value) {
        let b = &self.browser;
        b.goto(&self.url(side, if matches!(side, Side::Django) { "/whoami" } else { "/session" }));
        (b.text("user"), serde_json::from_str(&b.text("session")).unwrap())
    }

    fn files(&self) -> Vec<String> {
        crate::support::file_names(&self.sessions)
    }
}

/// Log in on each app in turn; the other two see alice with the same
/// login keys; log out on the next app; all three see no one, and no
/// session file is left.
#[test]
fn one_login_for_django_the_demo_and_express_on_one_directory() {
    let three = start();
    let info = three.django.user_info(DJANGO_USER);
    for (n, &login_side) in SIDES.iter().enumerate() {
        let logout_side = SIDES[(n + 1) % SIDES.len()];
        let key = three.login(login_side);
        assert_eq!(three.files(), vec![format!("sessionid{key}")], "one session file after {login_side:?}'s login");
        for side in SIDES {
            let (user, data) = three.user_on(side);
            assert_eq!(user, DJANGO_USER, "{side:?} sees {login_side:?}'s login: {data}");
            assert_eq!(data["_auth_user_id"], info["id"], "{side:?}");
            assert_eq!(data["_auth_user_hash"], info["session_auth_hash"], "{side:?}");
            assert_eq!(data["_auth_user_backend"], json!("django.contrib.auth.backends.ModelBackend"), "{side:?}");
            assert_eq!(three.browser.cookie("sessionid").map(|c| c.value), Some(key.clone()), "one session throughout");
        }
        three.logout(logout_side);
        assert!(three.files().is_empty(), "{logout_side:?}'s logout deleted the session: {:?}", three.files());
        for side in SIDES {
            assert_eq!(three.user_on(side).0, "anonymous", "{side:?} sees {logout_side:?}'s logout of {login_side:?}'s login");
        }
        assert!(three.files().is_empty(), "no page brought the session back: {:?}", three.files());
    }
}

/// Data written by each app is read by the other two, in one session.
#[test]
fn session_data_flows_between_all_three() {
    let three = start();
    let b = &three.browser;
    let key = three.login(Side::Express);
    b.goto(&three.demo.url("/set?key=colour&value=teal"));
    assert_eq!(b.text("ok"), "colour = teal");
    b.goto(&three.django.url("/django/set/?key=shape&value=round"));
    b.goto(&three.express.url("/set?key=size&value=large"));
    assert_eq!(b.text("ok"), "size = large");
    for side in SIDES {
        let (user, data) = three.user_on(side);
        assert_eq!(user, DJANGO_USER, "{side:?}");
        assert_eq!((&data["colour"], &data["shape"], &data["size"]), (&json!("teal"), &json!("round"), &json!("large")), "{side:?}: {data}");
    }
    assert_eq!(three.files(), vec![format!("sessionid{key}")]);
}
