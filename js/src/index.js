// sessionbox-express: an express-session store on Django's file session
// store (the sessionbox WASI component, run through jco), and the middleware
// that speaks Django's session cookie. See README.md.

import expressSession from "express-session";
import { djangoCookie } from "./cookie.js";
import { SessionboxStore } from "./store.js";
import { componentInfo } from "./component.js";

export { SessionboxStore, SessionboxError, newSessionKey, isSessionKey, DEFAULT_COOKIE_AGE, DEFAULT_FILE_PREFIX, DEFAULT_KEY_SALT, DEFAULT_MAX_SESSION_SIZE } from "./store.js";
export { djangoCookie, djangoCookieValue } from "./cookie.js";
export * as auth from "./auth.js";

/** The component this package runs: its WIT package (`sessionbox:store@X`), version and SHA-256. */
export const component = Object.freeze({ ...componentInfo });

/**
 * express-session on `store` with Django's cookie, as one middleware list
 * for `app.use`: `djangoCookie` then `expressSession`, sharing a secret
 * made here, with the store's `genid`, the cookie name `store.filePrefix`
 * (Django uses SESSION_COOKIE_NAME for both), Django's cookie defaults
 * (`HttpOnly`, `SameSite=Lax`, `Path=/`, an age of `store.cookieAge`, or a
 * browser-session cookie with `expireAtBrowserClose`), `resave: false`
 * and `saveUninitialized: false`. Other express-session options pass
 * through; `cookie` attributes given here are also the ones the store puts
 * on sessions it reads back.
 *
 * @param {import("./index.js").SessionOptions} options
 */
export function session(options) {
    const { store, cookie: given, name, ...rest } = options ?? {};
    if (!(store instanceof SessionboxStore)) {
        throw new TypeError("session() needs `store`, a SessionboxStore");
    }
    for (const fixed of ["secret", "genid"]) {
        if (fixed in rest) {
            throw new TypeError(`session() sets \`${fixed}\` itself (see README.md)`);
        }
    }
    const cookie = {
        path: "/",
        httpOnly: true,
        sameSite: "lax",
        secure: false,
        maxAge: store.expireAtBrowserClose ? null : store.cookieAge * 1000,
        ...(given ?? {}),
    };
    const attributes = { ...cookie };
    delete attributes.maxAge;
    delete attributes.expires;
    store.cookie = attributes;
    const django = djangoCookie({ name: name ?? store.filePrefix, cookie });
    const sessions = expressSession({
        resave: false,
        saveUninitialized: false,
        ...rest,
        store,
        name: django.cookieName,
        secret: django.secret,
        genid: store.genid,
        cookie,
    });
    return [django, sessions];
}
