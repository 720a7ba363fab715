// Django's login keys (`django.contrib.auth`) in an express-session, so a
// login on either side is a login on both: the same rules as the Rust
// layer's `sessionbox_tower::auth`.

import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";

/** Django's `SESSION_KEY`: the logged-in user's primary key, as a string. */
export const USER_ID_KEY = "_auth_user_id";
/** Django's `BACKEND_SESSION_KEY`. */
export const BACKEND_KEY = "_auth_user_backend";
/** Django's `HASH_SESSION_KEY`. */
export const HASH_KEY = "_auth_user_hash";
/** Django's default authentication backend. */
export const MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend";

function equal(a, b) {
    const x = Buffer.from(String(a));
    const y = Buffer.from(String(b));
    return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Django's `get_session_auth_hash()` of a user whose stored password hash
 * is `passwordHash`, under `secretKey`: `salted_hmac` with SHA-256, hex.
 */
export function sessionAuthHash(passwordHash, secretKey) {
    const salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";
    const key = createHash("sha256").update(salt + secretKey).digest();
    return createHmac("sha256", key).update(passwordHash).digest("hex");
}

/**
 * Whether `password` matches Django's stored `hash` (Django's default
 * `pbkdf2_sha256` format only). Takes as long as the hash's iterations say.
 */
export function checkPassword(password, hash) {
    const parts = String(hash).split("$");
    if (parts.length !== 4 || parts[0] !== "pbkdf2_sha256" || !/^[0-9]+$/.test(parts[1])) {
        return false;
    }
    const computed = pbkdf2Sync(password, parts[2], Number(parts[1]), 32, "sha256").toString("base64");
    return equal(computed, parts[3]);
}

function promised(f) {
    return new Promise((resolve, reject) => f((err) => (err ? reject(err) : resolve())));
}

function plainData(session) {
    const out = {};
    for (const [k, v] of Object.entries(session)) {
        if (k !== "cookie") {
            out[k] = v;
        }
    }
    return out;
}

/** The primary key the session names as logged in, unchecked; `null` for none. */
export function userId(req) {
    const id = req.session?.[USER_ID_KEY];
    return id === undefined || id === null ? null : String(id);
}

/**
 * Logs `user` in as Django's `login` does: a session of another user (or of
 * this user under an old password) is replaced by an empty one, any other
 * gets a new key keeping its data (against session fixation), and the three
 * login keys are set. Resolves when done; the session is saved at the end
 * of the request.
 *
 * @param {import("express").Request} req
 * @param {{id: string, passwordHash: string, backend?: string}} user
 * @param {string} secretKey Django's SECRET_KEY
 */
export async function login(req, user, secretKey) {
    const hash = sessionAuthHash(user.passwordHash, secretKey);
    const current = userId(req);
    let keep = {};
    if (current === null) {
        keep = plainData(req.session);
    } else if (current === String(user.id) && equal(req.session[HASH_KEY] ?? "", hash)) {
        keep = plainData(req.session);
    }
    await promised((cb) => req.session.regenerate(cb));
    Object.assign(req.session, keep);
    req.session[USER_ID_KEY] = String(user.id);
    req.session[BACKEND_KEY] = user.backend ?? MODEL_BACKEND;
    req.session[HASH_KEY] = hash;
}

/** Logs out (Django's `logout`): the session is deleted, and with `djangoCookie` its cookie. */
export async function logout(req) {
    if (req.session) {
        await promised((cb) => req.session.destroy(cb));
    }
}

/**
 * The logged-in user's id if the session names `user` with a hash that
 * matches `user`'s current password hash under `secretKey` or one of
 * `fallbackKeys` (Django's check in `get_user`). A session naming `user`
 * with a stale hash is destroyed, as Django flushes it; a hash only a
 * fallback key matches is renewed under `secretKey` (with a new key).
 * `null` when no one, or someone else, is logged in.
 */
export async function verifiedUserId(req, user, secretKey, fallbackKeys = []) {
    if (userId(req) !== String(user.id)) {
        return null;
    }
    if (req.session[BACKEND_KEY] !== (user.backend ?? MODEL_BACKEND)) {
        return null;
    }
    const stored = req.session[HASH_KEY] ?? "";
    const current = sessionAuthHash(user.passwordHash, secretKey);
    if (stored !== "" && equal(stored, current)) {
        return String(user.id);
    }
    if (stored !== "" && fallbackKeys.some((secret) => equal(stored, sessionAuthHash(user.passwordHash, secret)))) {
        const keep = plainData(req.session);
        await promised((cb) => req.session.regenerate(cb));
        Object.assign(req.session, keep);
        req.session[HASH_KEY] = current;
        return String(user.id);
    }
    await logout(req);
    return null;
}
