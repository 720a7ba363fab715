// SessionboxStore: an express-session Store on Django's file session store,
// every operation done by the sessionbox component (see ../README.md).

import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import expressSession from "express-session";
import { instantiateOn } from "./component.js";

const ExpressStore = expressSession.Store;

/** Django's `SESSION_COOKIE_AGE` default: two weeks, in seconds. */
export const DEFAULT_COOKIE_AGE = 1_209_600;
/** Django's `SESSION_COOKIE_NAME` default, also the session files' prefix. */
export const DEFAULT_FILE_PREFIX = "sessionid";
/** Django's signing salt for sessions. */
export const DEFAULT_KEY_SALT = "django.contrib.sessions.SessionStore";
/** The component's default size limit: 1 MiB of JSON text. */
export const DEFAULT_MAX_SESSION_SIZE = 1 << 20;

const KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";

/** The latest moment a cookie's `Expires` shows (Django's and the Rust host's clamp). */
const LATEST_EXPIRY_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * A fresh session key as Django makes one: 32 characters of `[a-z0-9]`
 * from the OS's random source, without modulo bias.
 */
export function newSessionKey() {
    let key = "";
    while (key.length < 32) {
        for (const b of randomBytes(48)) {
            // 252 = 7 * 36: bytes past it would favour the first letters.
            if (b < 252 && key.length < 32) {
                key += KEY_CHARS[b % 36];
            }
        }
    }
    return key;
}

/** Whether `value` can be a session key: 8 to 255 characters of `[a-z0-9]`. */
export function isSessionKey(value) {
    return typeof value === "string" && value.length >= 8 && value.length <= 255 && /^[a-z0-9]+$/.test(value);
}

/** A key as it may appear in a message: its first 4 characters. */
function shortKey(key) {
    return typeof key === "string" ? `${key.slice(0, 4)}…` : String(key);
}

/**
 * Why a store operation failed. `code` is `SESSIONBOX_` and the WIT error's
 * case in capitals (`SESSIONBOX_NOT_FOUND`, `SESSIONBOX_TOO_LARGE`, ...);
 * `status` is the HTTP status express's error handler answers with: 400
 * when a save found its session deleted meanwhile (Django's
 * `SessionInterrupted`), else 500. Messages never hold a whole session key.
 */
export class SessionboxError extends Error {
    constructor(code, message, status = 500, cause = undefined) {
        super(message, cause === undefined ? undefined : { cause });
        this.name = "SessionboxError";
        this.code = code;
        this.status = status;
    }
}

/** The component's error (a jco `ComponentError` carrying the WIT variant) as a SessionboxError. */
function toError(e, what, key) {
    const payload = e && typeof e === "object" && "payload" in e ? e.payload : undefined;
    if (!payload || typeof payload.tag !== "string") {
        return new SessionboxError("SESSIONBOX_TRAP", `${what}${key ? ` ${shortKey(key)}` : ""} failed in the component: ${e}`, 500, e);
    }
    const code = `SESSIONBOX_${payload.tag.toUpperCase().replace(/-/g, "_")}`;
    const detail = typeof payload.val === "string" ? `: ${payload.val}` : "";
    const where = key ? ` ${shortKey(key)}` : "";
    if (payload.tag === "not-found") {
        return new SessionboxError(code, `the session${where} was deleted before the request completed (a logout in a concurrent request?); it is not recreated`, 400, e);
    }
    return new SessionboxError(code, `${what}${where}: ${payload.tag}${detail}`, 500, e);
}

function later(cb, err, value) {
    if (typeof cb === "function") {
        process.nextTick(cb, err, value);
    }
}

/**
 * An express-session store keeping sessions as Django's file engine does,
 * every read and write done by the sessionbox component (jco, in this
 * process, synchronously). See README.md for how express's session maps to
 * Django's.
 */
export class SessionboxStore extends ExpressStore {
    /**
     * @param {import("./index.js").SessionboxStoreOptions} options
     */
    constructor(options) {
        super();
        const o = options ?? {};
        if (typeof o.dir !== "string" || o.dir === "") {
            throw new TypeError("SessionboxStore needs `dir`, the session directory (Django's SESSION_FILE_PATH)");
        }
        if (typeof o.secretKey !== "string" || o.secretKey === "") {
            throw new TypeError("SessionboxStore needs `secretKey`, Django's SECRET_KEY");
        }
        const cookieAge = o.cookieAge ?? DEFAULT_COOKIE_AGE;
        if (!Number.isSafeInteger(cookieAge) || cookieAge < 0) {
            throw new TypeError("`cookieAge` is a whole number of seconds");
        }
        /** The session directory, absolute. */
        this.dir = resolve(o.dir);
        mkdirSync(this.dir, { recursive: true });
        /** Django's SESSION_COOKIE_AGE, in seconds. */
        this.cookieAge = cookieAge;
        /** The session files' prefix (Django's SESSION_COOKIE_NAME). */
        this.filePrefix = o.filePrefix ?? DEFAULT_FILE_PREFIX;
        /** Django's SESSION_EXPIRE_AT_BROWSER_CLOSE. */
        this.expireAtBrowserClose = Boolean(o.expireAtBrowserClose);
        /** The cookie attributes sessions read back get (express-session's `cookie` option, minus its age). */
        this.cookie = { path: "/", httpOnly: true, sameSite: "lax", secure: false, ...(o.cookie ?? {}) };
        delete this.cookie.maxAge;
        delete this.cookie.expires;
        /** Whether `touch` re-saves an unmodified session, moving its expiry (express's rolling idle expiry). */
        this.touchSaves = o.touch ?? true;
        this.sessions = instantiateOn(this.dir);
        try {
            this.handle = this.sessions.Store.open({
                secretKey: o.secretKey,
                fallbackKeys: o.fallbackKeys ?? [],
                cookieAge: BigInt(cookieAge),
                filePrefix: this.filePrefix,
                keySalt: o.keySalt ?? DEFAULT_KEY_SALT,
                maxSessionSize: o.maxSessionSize ?? DEFAULT_MAX_SESSION_SIZE,
                durability: o.durability ?? "file",
            });
        } catch (e) {
            throw toError(e, "opening the store");
        }
        /** Requests whose session key `genid` made and no save has created yet. */
        const generated = new WeakMap();
        this.generated = generated;
        /**
         * express-session's `genid`: a Django session key, remembered for
         * `req` so that the first save of that session creates it (and
         * every later save only updates it). Pass it as `genid`.
         */
        this.genid = (req) => {
            const key = newSessionKey();
            if (req && typeof req === "object") {
                generated.set(req, key);
            }
            return key;
        };
    }

    /** Runs one component call, turning its error into a SessionboxError. */
    call(what, key, f) {
        try {
            return f();
        } catch (e) {
            throw toError(e, what, key);
        }
    }

    /**
     * The session `key` as express-session wants it (its data and a
     * `cookie`), or `null` when there is none (missing, expired, tampered
     * with, or corrupt: Django's answer to all four is a new session).
     * Synchronous; `get` is the callback form.
     */
    load(key) {
        if (!isSessionKey(key)) {
            return null;
        }
        const loaded = this.call("loading the session", key, () => this.handle.load(key));
        if (loaded.tag !== "found") {
            return null;
        }
        let data;
        try {
            data = JSON.parse(loaded.val.data);
        } catch (e) {
            throw new SessionboxError("SESSIONBOX_INVALID_DATA", `the session ${shortKey(key)} holds a value JavaScript's JSON cannot read (NaN or Infinity): ${e.message}`);
        }
        data.cookie = this.cookieFor(data, loaded.val.expiresAt);
        return data;
    }

    /** The express `cookie` of a session holding `data` that expires at `expiresAt` (a WIT timestamp). */
    cookieFor(data, expiresAt) {
        const ms = Number(expiresAt.seconds) * 1000 + Math.floor(expiresAt.nanoseconds / 1e6);
        const expires = new Date(Math.min(ms, LATEST_EXPIRY_MS));
        const expiry = data._session_expiry;
        let originalMaxAge;
        let atBrowserClose;
        if (typeof expiry === "number") {
            atBrowserClose = expiry === 0;
            originalMaxAge = atBrowserClose ? null : expiry * 1000;
        } else if (expiry === undefined || expiry === null) {
            atBrowserClose = this.expireAtBrowserClose;
            originalMaxAge = atBrowserClose ? null : this.cookieAge * 1000;
        } else {
            atBrowserClose = false;
            originalMaxAge = Math.max(0, expires.getTime() - Date.now());
        }
        return {
            ...this.cookie,
            originalMaxAge,
            expires: atBrowserClose ? null : expires.toISOString(),
            // What the expiry was when read: `set` leaves `_session_expiry`
            // alone unless the app changed the cookie's age since.
            sessionboxMaxAge: originalMaxAge,
        };
    }

    /**
     * The JSON text and the `_session_expiry` express's session `sess` is
     * saved with: its data without `cookie`, and the cookie's age as
     * Django's `set_expiry` when the app changed it (see README.md).
     */
    toDjango(sess) {
        const data = JSON.parse(
            JSON.stringify(sess, function (k, v) {
                return this === sess && k === "cookie" ? undefined : v;
            }),
        );
        const cookie = sess.cookie ?? {};
        const age = cookie.originalMaxAge ?? null;
        const seconds = (ms) => (ms === null || ms === undefined ? null : Math.round(ms / 1000));
        let unchanged;
        if ("sessionboxMaxAge" in cookie) {
            unchanged = seconds(age) === seconds(cookie.sessionboxMaxAge);
        } else {
            // A new session: the age express-session's cookie option gave it.
            const defaultAge = "_session_expiry" in data ? undefined : this.expireAtBrowserClose ? null : this.cookieAge * 1000;
            unchanged = defaultAge !== undefined && seconds(age) === seconds(defaultAge);
        }
        if (!unchanged) {
            data._session_expiry = age === null ? 0 : seconds(age);
        }
        return JSON.stringify(data);
    }

    /**
     * Saves `sess` as the session `key`: creates it when this request's
     * `genid` made the key, else updates it, refusing (400,
     * `SESSIONBOX_NOT_FOUND`) when it was deleted meanwhile, so a save
     * never brings back a session a logout ended. Synchronous; `set` is the
     * callback form.
     */
    save(key, sess) {
        const json = this.toDjango(sess);
        const req = sess && sess.req;
        const create = req !== undefined && this.generated.get(req) === key;
        this.call(create ? "creating the session" : "saving the session", key, () => this.handle.save(key, json, create));
        if (create) {
            this.generated.delete(req);
        }
    }

    /** express-session's `get`. */
    get(sid, cb) {
        let sess;
        try {
            sess = this.load(sid);
        } catch (e) {
            return later(cb, e);
        }
        later(cb, null, sess);
    }

    /** express-session's `set` (see `save`). */
    set(sid, sess, cb) {
        try {
            this.save(sid, sess);
        } catch (e) {
            return later(cb, e);
        }
        later(cb, null);
    }

    /** express-session's `destroy`: deletes the session file (Django's `delete`). */
    destroy(sid, cb) {
        try {
            if (isSessionKey(sid)) {
                this.call("deleting the session", sid, () => this.handle.delete(sid));
            }
        } catch (e) {
            return later(cb, e);
        }
        later(cb, null);
    }

    /**
     * express-session's `touch`, called after a request that left its
     * session unmodified: with `touch: true` (the default), the component's
     * `touch` moves the file's last write to now without rewriting it,
     * which restarts its age; a session deleted meanwhile stays deleted.
     * With `touch: false` nothing is written, as Django does without
     * SESSION_SAVE_EVERY_REQUEST.
     */
    touch(sid, _sess, cb) {
        try {
            if (this.touchSaves && isSessionKey(sid)) {
                this.call("touching the session", sid, () => this.handle.touch(sid));
            }
        } catch (e) {
            return later(cb, e);
        }
        later(cb, null);
    }

    /** The keys of the session files in the directory (expired ones included). */
    keys() {
        const prefix = this.filePrefix;
        return readdirSync(this.dir)
            .filter((name) => name.startsWith(prefix) && isSessionKey(name.slice(prefix.length)))
            .map((name) => name.slice(prefix.length));
    }

    /**
     * express-session's `all`: every live session, by key. Lists the
     * directory from JavaScript (jco's shim cannot list a preopen for the
     * guest) and loads each file through the component, which deletes the
     * expired ones it meets.
     */
    all(cb) {
        const out = {};
        try {
            for (const key of this.keys()) {
                const sess = this.load(key);
                if (sess) {
                    out[key] = sess;
                }
            }
        } catch (e) {
            return later(cb, e);
        }
        later(cb, null, out);
    }

    /** express-session's `length`: how many live sessions `all` finds. */
    length(cb) {
        this.all((err, all) => (err ? cb(err) : cb(null, Object.keys(all).length)));
    }

    /** express-session's `clear`: deletes every session file in the directory (through the component). */
    clear(cb) {
        try {
            for (const key of this.keys()) {
                this.call("deleting the session", key, () => this.handle.delete(key));
            }
        } catch (e) {
            return later(cb, e);
        }
        later(cb, null);
    }

    /**
     * Deletes the expired sessions (Django's `clearsessions`), in the
     * component; returns `{scanned, deleted, skipped}`.
     */
    clearExpired() {
        return this.call("sweeping expired sessions", undefined, () => this.handle.clearExpired());
    }
}
